import zoneinfo

from django import forms

from apps.keys.models import ApiKey
from apps.properties.models import Property
from apps.reports.models import SharedLink


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class PropertySettingsForm(forms.Form):
    name = forms.CharField(max_length=Property._meta.get_field("name").max_length)
    timezone = forms.ChoiceField(
        choices=_timezone_choices,
        help_text="Reports count days in this timezone; changing it re-counts the stored events.",
    )
    allowed_origins = forms.CharField(
        label="Allowed origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "none"}),
        help_text="Sites allowed to send events, one per line, like https://example.com or https://*.example.com.",
    )

    @classmethod
    def of_property(cls, prop: Property, *, read_only: bool) -> "PropertySettingsForm":
        form = cls(
            initial={"name": prop.name, "timezone": prop.timezone, "allowed_origins": "\n".join(prop.allowed_origins)}
        )
        for field in form.fields.values():
            field.disabled = read_only
        return form

    def clean_allowed_origins(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]


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
