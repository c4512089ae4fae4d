import hmac
import threading
import time
from dataclasses import dataclass, replace

from cachetools import TTLCache, cached
from django.core import signing
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.keys.models import ApiKey
from apps.keys.services import (
    INGEST_TOKEN_KIND,
    INGEST_TOKEN_PREFIX,
    INGEST_TOKEN_SALT,
    SECRET_PREFIXES,
    SITE_SENDER_KIND,
    InvalidToken,
    api_key_hash,
)
from apps.properties.models import Property

# Key lookups are cached per process for this long; it bounds how long a revoked key still works.
CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class ResolvedKey:
    """Who sends or reads for a property: a key, an ingest token, or the site itself (id None)."""

    id: int | None
    kind: str
    property_id: int
    property_public_id: str
    property_timezone: str
    allowed_origins: tuple[str, ...]
    ingest_limit_per_key: int
    ingest_limit_per_address: int
    organization_id: int


_cache: TTLCache = TTLCache(maxsize=10_000, ttl=CACHE_SECONDS)


# What a sender needs of its property, read with the key (`property__…`) or on its own.
SENDER_PROPERTY_FIELDS = (
    "pk",
    "public_id",
    "timezone",
    "allowed_origins",
    "ingest_limit_per_key",
    "ingest_limit_per_address",
    "organization_id",
)


def _sender(*, id: int | None, kind: str, row: tuple) -> ResolvedKey:
    """The sender of a key's id (None for the site itself) from its property's SENDER_PROPERTY_FIELDS."""
    property_id, public_id, timezone, origins, per_key, per_address, organization_id = row
    return ResolvedKey(
        id=id,
        kind=kind,
        property_id=property_id,
        property_public_id=public_id,
        property_timezone=timezone,
        allowed_origins=tuple(origins or ()),
        ingest_limit_per_key=per_key,
        ingest_limit_per_address=per_address,
        organization_id=organization_id,
    )


@cached(_cache, key=lambda cache_key, **lookup: cache_key, lock=threading.Lock())
def _active_key(cache_key: str, *, kind: str, **lookup) -> tuple[ResolvedKey, str] | None:
    """The active key of `kind` matching `lookup`, with its stored hash; cached per process."""
    row = (
        ApiKey.unscoped.filter(kind=kind, revoked_at__isnull=True, **lookup)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .values_list("id", "key_hash", *(f"property__{name}" for name in SENDER_PROPERTY_FIELDS))
        .first()
    )
    if row is None:
        return None
    return _sender(id=row[0], kind=kind, row=row[2:]), row[1]


def api_key_resolve(*, secret: str, kind: str) -> ResolvedKey | None:
    """Return the active (not revoked, not expired) key of `kind` matching `secret`, or None.

    Unknown secrets are cached too, so a flood of forged keys costs one query per second per key.
    """
    if not secret.startswith(SECRET_PREFIXES[kind]) or len(secret) > 128:
        return None
    digest = api_key_hash(secret)
    found = _active_key(f"hash:{digest}", kind=kind, key_hash=digest)
    if found is None or not hmac.compare_digest(found[1], digest):
        return None
    return found[0]


def ingest_token_resolve(token: str) -> ResolvedKey:
    """Return the issuing read key of a valid ingest token, acting for ingest; raise InvalidToken.

    A token is refused once it has expired, if its signature does not match, or once the read key
    that minted it is revoked (within the lookup cache's second).
    """
    try:
        claims = signing.loads(token.removeprefix(INGEST_TOKEN_PREFIX), salt=INGEST_TOKEN_SALT)
        property_public_id, key_id, expires = claims["p"], int(claims["k"]), float(claims["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidToken("The ingest token is invalid.") from None
    if expires <= time.time():
        raise InvalidToken("The ingest token has expired; mint a new one.")
    found = _active_key(f"id:{key_id}", kind=ApiKey.Kind.READ, pk=key_id)
    if found is None or found[0].property_public_id != property_public_id:
        raise InvalidToken("The ingest token was revoked with the key that minted it.")
    return replace(found[0], kind=INGEST_TOKEN_KIND)


def site_sender_resolve(*, hostname: str = "", public_id: str = "") -> ResolvedKey | None:
    """The property a peer tracker names, by one of its domains (Plausible's) or by its id (Umami's),
    acting for ingest as the site itself: no key, rate-limited per property. None if there is none.

    Cached per process with the keys, unknown names too.
    """
    if hostname:
        hostname = hostname.lower()
        return _site(f"domain:{hostname}", domain_rows__hostname=hostname) if len(hostname) <= 253 else None
    return _site(f"site:{public_id}", public_id=public_id) if len(public_id) <= 64 else None


@cached(_cache, key=lambda cache_key, **lookup: cache_key, lock=threading.Lock())
def _site(cache_key: str, **lookup) -> ResolvedKey | None:
    row = Property.unscoped.filter(**lookup).values_list(*SENDER_PROPERTY_FIELDS).first()
    return None if row is None else _sender(id=None, kind=SITE_SENDER_KIND, row=row)


def api_keys_of_property(*, property: Property) -> QuerySet[ApiKey]:
    """A property's keys, newest first (the caller has passed the property door)."""
    return property.api_keys.order_by("-created_at", "-pk")


def api_key_access(*, property: Property, key_id: int | str) -> ApiKey:
    """One key of a property the caller has passed the door for; 404 for any other id."""
    return property.api_keys.by_id(key_id)
