import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from apps.core.api import ApplicationError
from apps.keys.models import ApiKey
from apps.properties.models import Property

SECRET_PREFIXES: dict[str, str] = {ApiKey.Kind.WRITE: "wk_", ApiKey.Kind.READ: "rk_"}
INGEST_TOKEN_PREFIX = "it_"
INGEST_TOKEN_SALT = "clickmeter.ingest-token"
INGEST_TOKEN_KIND = "token"
# What a peer tracker (Plausible's, Umami's) acts as: the site itself, named by a domain or the
# property id, with no key (apps.keys.selectors.site_sender_resolve).
SITE_SENDER_KIND = "site"
INGEST_TOKEN_MAX_SECONDS = 24 * 3600


class InvalidToken(Exception):
    """An ingest token that is malformed, tampered with, expired or revoked."""


VISIBLE_CHARS = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_assign_secret(*, api_key: ApiKey) -> str:
    """Give an unsaved key a fresh 192-bit secret, save it, and return the secret (shown once)."""
    secret = SECRET_PREFIXES[api_key.kind] + secrets.token_urlsafe(24)
    api_key.prefix = secret[: len(SECRET_PREFIXES[api_key.kind]) + VISIBLE_CHARS]
    api_key.key_hash = api_key_hash(secret)
    api_key.save()
    return secret


def api_key_create(
    *, property: Property, kind: str, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored."""
    if kind not in SECRET_PREFIXES:
        raise ApplicationError("invalid_parameter", "kind must be write or read.", field="kind")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError("invalid_parameter", "expires_at must be in the future.", field="expires_at")
    api_key = ApiKey(property=property, kind=kind, name=name, expires_at=expires_at)
    return api_key, api_key_assign_secret(api_key=api_key)


def api_key_update(*, api_key: ApiKey, **changes) -> ApiKey:
    """Rename a key or change its expiry (the only editable fields); the secret never changes."""
    unknown = set(changes) - {"name", "expires_at"}
    if unknown:
        raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(api_key, field, value)
    api_key.save(update_fields=list(changes))
    return api_key


def api_key_rotation_grace() -> timedelta:
    return timedelta(hours=settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS)


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey) -> tuple[ApiKey, str]:
    """Replace a key: return a new key of the same kind and name with its secret, and let the old one
    work only for the rotation grace period (CLICKMETER_KEY_ROTATION_GRACE_HOURS, 24 by default).
    `api_key` itself shows the old key's new expiry afterwards."""
    locked = ApiKey.unscoped.select_for_update().get(pk=api_key.pk)
    now = timezone.now()
    if not locked.is_active(now):
        raise ApplicationError("key_inactive", "A revoked or expired key cannot be rotated.", status_code=409)
    old_expiry = now + api_key_rotation_grace()
    if locked.expires_at is None or locked.expires_at > old_expiry:
        locked.expires_at = old_expiry
        locked.save(update_fields=["expires_at"])
    api_key.expires_at = locked.expires_at
    return api_key_create(property=api_key.property, kind=locked.kind, name=locked.name)


@transaction.atomic
def property_keys_create(*, property: Property) -> dict[str, str]:
    """Create a property's first write and read keys; return their secrets by kind."""
    return {
        kind: api_key_create(property=property, kind=kind, name="default")[1]
        for kind in (ApiKey.Kind.WRITE, ApiKey.Kind.READ)
    }


def api_key_revoke(*, api_key: ApiKey) -> None:
    """Revoke a key; it is refused by every process within a second (the lookup cache's lifetime)."""
    ApiKey.unscoped.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_last_touched: dict[int, datetime] = {}


def api_keys_touch(*, key_ids: set[int | None], used_at: datetime) -> None:
    """Record that keys were used, writing at most once per key per minute.

    Keys this process recorded within the minute are skipped without a query: a report request
    or a drain costs no write for them.
    """
    due = {
        key_id
        for key_id in key_ids
        if key_id is not None and used_at - _last_touched.get(key_id, EPOCH) >= LAST_USED_RESOLUTION
    }
    if not due:
        return
    ApiKey.unscoped.filter(pk__in=due).exclude(last_used_at__gt=used_at - LAST_USED_RESOLUTION).update(
        last_used_at=used_at
    )
    _last_touched.update(dict.fromkeys(due, used_at))


def ingest_token_mint(*, api_key_id: int, property_public_id: str, expires_in: int) -> tuple[str, datetime]:
    """Sign a token that lets a browser ingest into one property for `expires_in` seconds (<= 24 h).

    It holds the property, the minting read key and the expiry, signed with SECRET_KEY under a
    salt of its own; revoking the read key revokes its tokens.
    """
    if not 1 <= expires_in <= INGEST_TOKEN_MAX_SECONDS:
        raise ValueError(f"expires_in must be 1 to {INGEST_TOKEN_MAX_SECONDS} seconds")
    expires_at = timezone.now() + timedelta(seconds=expires_in)
    claims = {"p": property_public_id, "k": api_key_id, "e": expires_at.timestamp()}
    return INGEST_TOKEN_PREFIX + signing.dumps(claims, salt=INGEST_TOKEN_SALT), expires_at
