from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Organization
from apps.properties.models import Property
from apps.properties.signals import property_timezone_changed


def origin_normalize(origin: str) -> str:
    """Return `origin` as `scheme://host[:port]` (host may start with `*.`), lower-cased, or raise."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number or out of range
        raise ValidationError(f"{origin!r} is not an origin like https://example.com") from None
    if parts.hostname and "*" in parts.hostname.removeprefix("*."):
        raise ValidationError(f"{origin!r}: a wildcard may only stand for subdomains, as in https://*.example.com")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValidationError(f"{origin!r} is not an origin like https://example.com")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(f"{origin!r} is not an origin like https://example.com")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def property_create(
    *, organization: Organization, name: str, allowed_origins: list[str] = (), timezone: str = "UTC"
) -> Property:
    """Create a property after validating its name, origins and timezone."""
    prop = Property(
        organization=organization,
        name=name,
        allowed_origins=_origins_normalized(allowed_origins),
        timezone=timezone,
    )
    prop.full_clean()
    prop.save()
    return prop


def _origins_normalized(origins) -> list[str]:
    return sorted({origin_normalize(origin) for origin in origins})


_UPDATABLE = (
    "name",
    "allowed_origins",
    "timezone",
    "retention_days",
    "ingest_limit_per_key",
    "ingest_limit_per_address",
)


def property_update(*, property: Property, **changes) -> Property:
    """Change a property's settings; a new timezone re-days its stored events (property_timezone_set)."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    new_timezone = changes.pop("timezone", property.timezone)
    if "allowed_origins" in changes:
        changes["allowed_origins"] = _origins_normalized(changes["allowed_origins"])
    for field, value in changes.items():
        setattr(property, field, value)
    property.full_clean()
    with transaction.atomic():
        if changes:
            property.save(update_fields=list(changes))
        if new_timezone != property.timezone:
            property_timezone_set(property=property, timezone_name=new_timezone)
    return property


def property_delete(*, property: Property) -> None:
    """Delete a property with its keys, events and rollups."""
    property.delete()


def property_timezone_set(*, property: Property, timezone_name: str) -> None:
    """Change a property's timezone; receivers re-day what is stored, in the same transaction."""
    property.timezone = timezone_name
    property.full_clean()
    with transaction.atomic():
        property.save(update_fields=["timezone"])
        property_timezone_changed.send(sender=Property, property=property)
