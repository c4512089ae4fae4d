import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Organization
from apps.properties import hooks
from apps.properties.models import Property, PropertyDomain
from apps.properties.signals import property_timezone_changed

DOMAINS_MAX = 100
_HOSTNAME = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


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


def domain_normalize(domain: str) -> str:
    """Return `domain` as a lower-case ASCII hostname (`example.com`; IDNA for a non-ASCII name), or
    raise. Only the host: no scheme, port or path."""
    value = domain.strip().lower().removesuffix(".")
    invalid = ValidationError(f"{domain!r} is not a domain like example.com: enter the site's host only.")
    try:
        value = value.encode("idna").decode("ascii")
    except UnicodeError:
        raise invalid from None
    if not _HOSTNAME.fullmatch(value):
        raise invalid
    return value


def property_create(
    *,
    organization: Organization,
    name: str,
    domains: Iterable[str] = (),
    allowed_origins: Iterable[str] | None = None,
    timezone: str = "UTC",
) -> Property:
    """Create a property after validating its name, domains, origins and timezone.

    Without `allowed_origins`, browsers may send events from `https://` each of its domains.
    """
    hostnames = property_domains_check(domains=domains)
    if allowed_origins is None:
        allowed_origins = [f"https://{hostname}" for hostname in hostnames]
    prop = Property(
        organization=organization,
        name=name,
        allowed_origins=_origins_normalized(allowed_origins),
        timezone=timezone,
    )
    prop.full_clean()
    with transaction.atomic():
        prop.save()
        _domains_set(prop, hostnames)
    return prop


@transaction.atomic
def property_create_with_keys(*, organization: Organization, **fields) -> tuple[Property, dict[str, str]]:
    """Create a property (see property_create) with its first write and read keys, which the keys app
    creates (hooks.FirstKeys); return it with the keys' secrets by kind."""
    prop = property_create(organization=organization, **fields)
    return prop, hooks.first_keys().create(property=prop)


def _origins_normalized(origins) -> list[str]:
    return sorted({origin_normalize(origin) for origin in origins})


def _domains_normalized(domains: Iterable[str]) -> list[str]:
    """`domains` normalized, in order, without repeats; every invalid one named in the error."""
    hostnames, errors = [], []
    for domain in domains:
        try:
            hostname = domain_normalize(domain)
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if hostname not in hostnames:
            hostnames.append(hostname)
    if not errors and len(hostnames) > DOMAINS_MAX:
        errors.append(f"A property may have at most {DOMAINS_MAX} domains.")
    if errors:
        raise ValidationError({"domains": errors})
    return hostnames


def property_domains_check(*, domains: Iterable[str], property: Property | None = None) -> list[str]:
    """Return `domains` normalized, in order and without repeats, for `property` (None: a new one);
    or raise a ValidationError on `domains` naming each that is invalid or another property's.

    A hostname names one property on the whole server, whichever organisation it belongs to: a
    tracker that sends only its site's domain (Plausible's) must reach exactly one property.
    """
    hostnames = _domains_normalized(domains)
    others = PropertyDomain.unscoped.filter(hostname__in=hostnames)
    if property is not None:
        others = others.exclude(property=property)
    taken = set(others.values_list("hostname", flat=True))
    if taken:
        raise ValidationError(
            {
                "domains": [
                    f"{hostname} is already the domain of another property."
                    for hostname in hostnames
                    if hostname in taken
                ]
            }
        )
    return hostnames


def _domains_set(prop: Property, hostnames: list[str]) -> None:
    """Make `hostnames` (checked by property_domains_check) the property's domains, the first the primary."""
    try:
        with transaction.atomic():
            PropertyDomain.unscoped.filter(property=prop).delete()
            PropertyDomain.unscoped.bulk_create(
                PropertyDomain(property=prop, hostname=hostname, position=position)
                for position, hostname in enumerate(hostnames)
            )
    except IntegrityError:  # another property took one since the check: the unique index decides
        raise ValidationError(
            {"domains": f"One of {', '.join(hostnames)} has just become the domain of another property."}
        ) from None
    getattr(prop, "_prefetched_objects_cache", {}).pop("domain_rows", None)


_UPDATABLE = (
    "name",
    "domains",
    "allowed_origins",
    "timezone",
    "retention_days",
    "ingest_limit_per_key",
    "ingest_limit_per_address",
)


def property_update(*, property: Property, **changes) -> Property:
    """Change a property's settings; new `domains` replace the old (the first is the primary), and a
    new timezone re-days its stored events (property_timezone_set)."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    new_timezone = changes.pop("timezone", property.timezone)
    hostnames = None
    if "domains" in changes:
        hostnames = property_domains_check(domains=changes.pop("domains"), property=property)
    if "allowed_origins" in changes:
        changes["allowed_origins"] = _origins_normalized(changes["allowed_origins"])
    for field, value in changes.items():
        setattr(property, field, value)
    property.full_clean()
    with transaction.atomic():
        if changes:
            property.save(update_fields=list(changes))
        if hostnames is not None:
            _domains_set(property, hostnames)
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
