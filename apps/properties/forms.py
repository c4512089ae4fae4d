"""A property's forms: its settings and a new property, on its pages; the fields they share with its
admin: lists typed one per line, and the timezone chosen from the IANA names."""

import zoneinfo
from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError

from apps.properties.models import Property
from apps.properties.services import domain_normalize, origin_normalize


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class TimezoneField(forms.ChoiceField):
    """An IANA timezone, chosen from a list."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Reports count days in this timezone.")
        super().__init__(choices=timezone_choices, **kwargs)


class LinesField(forms.CharField):
    """A list typed one item per line (blank lines ignored), each checked by `item_validator`; every
    bad line is named in the errors."""

    def __init__(self, *, item_validator: Callable[[str], object], **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "none"}))
        super().__init__(**kwargs)
        self.item_validator = item_validator

    @staticmethod
    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value) -> list[str]:
        items = self.lines(super().clean(value))  # the text's own checks first: required, no NUL
        errors = []
        for item in items:
            try:
                self.item_validator(item)
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return items

    def has_changed(self, initial, data) -> bool:
        if self.disabled:
            return False
        return list(initial or []) != self.lines(self.to_python(data) or "")


def domains_field(**kwargs) -> LinesField:
    kwargs.setdefault(
        "help_text", "The site's hostnames, one per line, like example.com; the first is the primary domain."
    )
    return LinesField(item_validator=domain_normalize, label="Domains", required=False, **kwargs)


def origins_field(**kwargs) -> LinesField:
    kwargs.setdefault(
        "help_text", "Sites allowed to send events, one per line, like https://example.com or https://*.example.com."
    )
    return LinesField(item_validator=origin_normalize, label="Allowed origins", required=False, **kwargs)


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
