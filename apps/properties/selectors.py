import threading
from collections.abc import Iterable

from cachetools import TTLCache, cached
from django.db.models import QuerySet

from apps.accounts.models import Organization
from apps.core.tenancy import Role
from apps.properties.models import Property


def origin_allowed(*, allowed_origins: tuple[str, ...] | list[str], origin: str) -> bool:
    """Whether a browser `Origin` matches the property's list: exact `scheme://host[:port]`, or
    `scheme://*.example.com[:port]` for any subdomain of example.com (not example.com itself)."""
    origin = origin.strip().lower().rstrip("/")
    scheme, _, host = origin.partition("://")
    for allowed in allowed_origins:
        if allowed == origin:
            return True
        allowed_scheme, _, allowed_host = allowed.partition("://")
        if allowed_host.startswith("*.") and allowed_scheme == scheme:
            suffix = allowed_host[1:]  # ".example.com[:port]"
            if host.endswith(suffix) and len(host) > len(suffix) and "/" not in host:
                return True
    return False


@cached(TTLCache(maxsize=10_000, ttl=1.0), lock=threading.Lock())
def property_allowed_origins(*, public_id: str) -> tuple[str, ...] | None:
    """A property's allowed origins by public id (None if there is no such property); cached 1 s."""
    max_length = Property._meta.get_field("public_id").max_length
    if max_length is not None and len(public_id) > max_length:
        return None
    row = Property.unscoped.filter(public_id=public_id).values_list("allowed_origins", flat=True).first()
    return None if row is None else tuple(row)


@cached(TTLCache(maxsize=10_000, ttl=10.0), lock=threading.Lock())
def origin_allowed_anywhere(origin: str) -> bool:
    """Whether any property allows this browser origin; cached 10 s per origin (a CORS answer only:
    each request is then checked against its own property's origins)."""
    rows = Property.unscoped.exclude(allowed_origins=[]).values_list("allowed_origins", flat=True).iterator()
    return any(origin_allowed(allowed_origins=allowed, origin=origin) for allowed in rows)


def properties_of_user(
    *, user, role: str = Role.VIEWER, organizations: Iterable[Organization] | None = None
) -> QuerySet[Property]:
    """The properties of every organisation where `user` holds at least `role`, or of `organizations`
    only (which the caller has passed the organisation door for)."""
    properties = Property.objects.for_user(user, role=role)
    if organizations is not None:
        properties = properties.filter(organization__in=organizations)
    return properties.select_related("organization").prefetch_related("domain_rows").order_by("name", "pk")


def property_access(*, actor, public_id: str, role: str = Role.VIEWER) -> Property:
    """The one door to a property for a request, whoever acts: a member (by role), or a property-bound
    actor — an API key, a shared link — for its own property, to view only.

    Another organisation's property is a 404 exactly like a missing one; a member whose role is below
    `role` gets a 403, as does a key or link asked to do more than view.
    """
    return Property.objects.access(actor, role=role, public_id=public_id)


def property_access_by_site_id(*, actor, site_id: str) -> Property:
    """The property a `site_id` names for `actor`, as Plausible's API names sites: its public id
    (`prop_…`) or one of its domains (any case). The door of `property_access`: a 404 for a site the
    actor may not see, exactly like a missing one."""
    if site_id.startswith("prop_"):
        return Property.objects.access(actor, public_id=site_id)
    return Property.objects.access(actor, domain_rows__hostname=site_id.lower())
