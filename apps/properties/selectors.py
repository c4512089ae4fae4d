from collections.abc import Iterable

from django.db.models import QuerySet

from apps.accounts.models import Organization, Role
from apps.properties.models import Property
from config.caching import ShortLivedCache


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


_origins_cache = ShortLivedCache(seconds=1.0)


def property_allowed_origins(*, public_id: str) -> tuple[str, ...] | None:
    """A property's allowed origins by public id (None if there is no such property); cached 1 s."""
    if len(public_id) > Property._meta.get_field("public_id").max_length:
        return None

    def fetch():
        row = Property.objects.filter(public_id=public_id).values_list("allowed_origins", flat=True).first()
        return None if row is None else tuple(row)

    return _origins_cache.get_or_compute(public_id, fetch)


def properties_of_user(
    *, user, role: str = Role.VIEWER, organizations: Iterable[Organization] | None = None
) -> QuerySet[Property]:
    """The properties of every organisation where `user` holds at least `role`, or of `organizations`
    only (which the caller has passed the organisation door for)."""
    properties = Property.objects.for_user(user, role=role)
    if organizations is not None:
        properties = properties.filter(organization__in=organizations)
    return properties.select_related("organization").prefetch_related("domain_rows").order_by("name", "pk")
