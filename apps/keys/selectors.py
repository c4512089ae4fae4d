import hmac
import time
from dataclasses import dataclass, replace

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Role, User
from apps.keys.models import ApiKey
from apps.keys.services import (
    INGEST_TOKEN_KIND,
    INGEST_TOKEN_PREFIX,
    INGEST_TOKEN_SALT,
    SECRET_PREFIXES,
    InvalidToken,
    api_key_hash,
)
from apps.properties.models import Property
from config.caching import ShortLivedCache

# Key lookups are cached per process for this long; it bounds how long a revoked key still works.
CACHE_SECONDS = 1.0


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


_cache = ShortLivedCache(seconds=CACHE_SECONDS)


def _active_key(cache_key: str, *, kind: str, **lookup) -> tuple[ResolvedKey, str] | None:
    """The active key of `kind` matching `lookup`, with its stored hash; cached per process."""
    return _cache.get_or_compute(cache_key, lambda: _active_key_fetch(kind=kind, **lookup))


def _active_key_fetch(*, kind: str, **lookup) -> tuple[ResolvedKey, str] | None:
    row = (
        ApiKey.objects.filter(kind=kind, revoked_at__isnull=True, **lookup)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
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
    if row is None:
        return None
    key = ResolvedKey(
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
    return key, row[1]


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


def property_access_by_key(*, key: ResolvedKey, public_id: str) -> Property:
    """Return the property `public_id` if `key` belongs to it; otherwise 404, exists or not."""
    # As bytes: hmac.compare_digest refuses str with non-ASCII characters, which a path may carry.
    if not hmac.compare_digest(key.property_public_id.encode(), public_id.encode()):
        raise Http404
    prop = Property.objects.filter(pk=key.property_id).first()
    if prop is None:
        raise Http404
    return prop


def property_access(*, actor: User | ResolvedKey, public_id: str, role: str = Role.VIEWER) -> Property:
    """The one door to a property for a request: a member (by role) or one of its own keys.

    Another organisation's property is a 404 exactly like a missing one. A key acts for its own
    property with a viewer's rights; a member whose role is below `role` gets a 403.
    """
    if isinstance(actor, ResolvedKey):
        prop = property_access_by_key(key=actor, public_id=public_id)
        if role != Role.VIEWER:
            raise PermissionDenied("An API key cannot do this; use a member's credentials.")
        return prop
    return Property.objects.access(actor, role=role, public_id=public_id)


def api_keys_of_property(*, property: Property) -> QuerySet[ApiKey]:
    """A property's keys, newest first (the caller has passed the property door)."""
    return property.api_keys.order_by("-created_at", "-pk")


def api_key_access(*, property: Property, key_id: int | str) -> ApiKey:
    """One key of a property the caller has passed the door for; 404 for any other id."""
    return property.api_keys.by_id(key_id)
