import hmac
import time
from dataclasses import dataclass

from django.http import Http404

from apps.keys.models import ApiKey
from apps.keys.services import SECRET_PREFIXES, api_key_hash
from apps.properties.models import Property

# Key lookups are cached per process for this long; it bounds how long a revoked key still works.
CACHE_SECONDS = 1.0
CACHE_MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class ResolvedKey:
    id: int
    kind: str
    property_id: int
    property_public_id: str
    property_timezone: str
    allowed_origins: tuple[str, ...]
    ingest_limit_per_key: int
    ingest_limit_per_address: int
    organization_id: int


_cache: dict[str, tuple[float, ResolvedKey | None]] = {}


def api_key_resolve(*, secret: str, kind: str) -> ResolvedKey | None:
    """Return the active key of `kind` matching `secret`, or None.

    Unknown secrets are cached too, so a flood of forged keys costs one query per second per key.
    """
    if not secret.startswith(SECRET_PREFIXES[kind]) or len(secret) > 128:
        return None
    digest = api_key_hash(secret)
    now = time.monotonic()
    cached = _cache.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    row = (
        ApiKey.objects.filter(key_hash=digest, kind=kind, revoked_at__isnull=True)
        .values_list(
            "id",
            "key_hash",
            "property_id",
            "property__public_id",
            "property__timezone",
            "property__allowed_origins",
            "property__ingest_limit_per_key",
            "property__ingest_limit_per_address",
            "property__organization_id",
        )
        .first()
    )
    resolved = None
    if row is not None and hmac.compare_digest(row[1], digest):
        resolved = ResolvedKey(
            id=row[0],
            kind=kind,
            property_id=row[2],
            property_public_id=row[3],
            property_timezone=row[4],
            allowed_origins=tuple(row[5] or ()),
            ingest_limit_per_key=row[6],
            ingest_limit_per_address=row[7],
            organization_id=row[8],
        )
    if len(_cache) >= CACHE_MAX_ENTRIES:
        _cache.clear()
    _cache[digest] = (now + CACHE_SECONDS, resolved)
    return resolved


def property_access_by_key(*, key: ResolvedKey, public_id: str) -> Property:
    """Return the property `public_id` if `key` belongs to it; otherwise 404, exists or not."""
    if not hmac.compare_digest(key.property_public_id, public_id):
        raise Http404
    prop = Property.objects.filter(pk=key.property_id).first()
    if prop is None:
        raise Http404
    return prop
