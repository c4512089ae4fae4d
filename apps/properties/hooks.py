"""What the apps above this one add to a property's surfaces, registered from their AppConfig.ready().

Apps depend one way (docs/architecture.md): the properties app owns the property's API, admin and
pages, but cannot import the keys a new property is given, the events its waiting page waits for,
or the keys and shared links its settings page lists. Their apps hand them in here instead.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from apps.properties.models import Property


@dataclass(frozen=True)
class FirstKeys:
    """The keys app's part in creating a property: `create(property=)` gives it its first keys and
    returns their secrets by kind; `api_data(property=, secrets=)` is those keys as the API's answer
    shows them."""

    create: Callable[..., dict[str, str]]
    api_data: Callable[..., list[dict]]


@dataclass(frozen=True)
class SettingsSection:
    """A section of the settings page, shown to admins below the property's own: its template and
    `context(property=)`, what it shows. A view that shows the page again with a bound form passes
    the form under the name the context gives it."""

    template: str
    context: Callable[..., dict]


_first_keys: FirstKeys | None = None
_events_check: Callable[..., bool] | None = None
settings_sections: list[SettingsSection] = []


def first_keys_register(first_keys: FirstKeys) -> None:
    global _first_keys
    _first_keys = first_keys


def events_check_register(check: Callable[..., bool]) -> None:
    """`check(property=)`: whether any event of the property is stored."""
    global _events_check
    _events_check = check


def settings_section_register(section: SettingsSection) -> None:
    if section not in settings_sections:
        settings_sections.append(section)


def first_keys() -> FirstKeys:
    if _first_keys is None:
        raise ImproperlyConfigured("No app registered a property's first keys (the keys app does, in its ready()).")
    return _first_keys


def property_has_events(*, property: Property) -> bool:
    if _events_check is None:
        raise ImproperlyConfigured("No app registered the events check (the reports app does, in its ready()).")
    return _events_check(property=property)
