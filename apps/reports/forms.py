from django import forms

from apps.keys.models import ApiKey
from apps.properties.forms import TimezoneField, domains_field, origins_field
from apps.properties.models import Property
from apps.properties.services import domain_normalize
from apps.reports.models import SharedLink

NAME_MAX_LENGTH = Property._meta.get_field("name").max_length


class PropertySettingsForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    domains = domains_field()
    timezone = TimezoneField(help_text="Reports count days in this timezone; changing it re-counts the stored events.")
    allowed_origins = origins_field(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"})
    )

    @classmethod
    def of_property(cls, prop: Property, *, read_only: bool) -> "PropertySettingsForm":
        form = cls(
            initial={
                "name": prop.name,
                "domains": prop.domains,
                "timezone": prop.timezone,
                "allowed_origins": prop.allowed_origins,
            }
        )
        for field in form.fields.values():
            field.disabled = read_only
        return form


class PropertyCreateForm(forms.Form):
    """A new property: its site's domain, a name (the domain if left blank), the timezone of its
    reports and the origins that may send events (https:// the domain if left blank)."""

    domain = forms.CharField(
        max_length=253,
        validators=[domain_normalize],  # type: ignore[list-item]  # Django ignores what a validator returns
        help_text="The site's host, like example.com: no https://, no path.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false", "placeholder": "example.com"}),
    )
    name = forms.CharField(max_length=NAME_MAX_LENGTH, required=False, help_text="Left blank: the domain.")
    timezone = TimezoneField(initial="UTC")
    allowed_origins = origins_field(
        help_text="Sites allowed to send events from browsers, one per line, like https://example.com or "
        "https://*.example.com. Left blank: https:// and the domain."
    )

    def property_fields(self) -> dict:
        """The cleaned form as property_create's arguments."""
        data = self.cleaned_data
        return {
            "name": data["name"] or data["domain"].strip(),
            "domains": [data["domain"]],
            "allowed_origins": data["allowed_origins"] or None,
            "timezone": data["timezone"],
        }


class ApiKeyCreateForm(forms.Form):
    prefix = "key"

    kind = forms.ChoiceField(choices=ApiKey.Kind.choices)
    name = forms.CharField(max_length=ApiKey._meta.get_field("name").max_length, required=False)


class SharedLinkCreateForm(forms.Form):
    prefix = "link"

    name = forms.CharField(
        max_length=SharedLink._meta.get_field("name").max_length,
        help_text="For you, to tell links apart; visitors do not see it.",
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional: visitors must enter it to see the dashboard.",
    )


class SharedLinkPasswordForm(forms.Form):
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
