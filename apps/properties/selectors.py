import time

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


_origins_cache: dict[str, tuple[float, tuple[str, ...] | None]] = {}
ORIGINS_CACHE_SECONDS = 1.0


def property_allowed_origins(*, public_id: str) -> tuple[str, ...] | None:
    """A property's allowed origins by public id (None if there is no such property); cached 1 s."""
    now = time.monotonic()
    cached = _origins_cache.get(public_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = Property.objects.filter(public_id=public_id).values_list("allowed_origins", flat=True).first()
    origins = None if row is None else tuple(row)
    if len(_origins_cache) > 10_000:
        _origins_cache.clear()
    _origins_cache[public_id[:64]] = (now + ORIGINS_CACHE_SECONDS, origins)
    return origins
