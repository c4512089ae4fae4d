"""Form fields for a property's settings, shared by its pages and its admin: lists typed one per
line, and the timezone chosen from the IANA names."""

import zoneinfo
from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError

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
