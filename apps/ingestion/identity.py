"""64-bit integer keys for visitors and sessions, fixed when an event is stored.

Reports count distinct visitors and sessions over hundreds of thousands of rows; integers compare
and hash several times faster than the text ids clients send. A key is the first 8 bytes of the
MD5 of the id, read as a signed big-endian integer, which PostgreSQL can compute too (the
migration that added the keys fills them in SQL). Two different ids share a key with a chance of
about n²/2⁶⁵ (below one in a billion for 100,000 visitors), so counts are exact in practice.

A session belongs to one visitor: its key hashes the visitor id with the session id. An event sent
without a session id is a session of its own, keyed by its event id.
"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from django.conf import settings

from apps.ingestion.schema import MAX_EVENTS

# What begins a cookieless visitor id (enrichment.visitor_hash), which lasts a day: reports that
# follow people across days (retention) leave such ids out.
COOKIELESS_PREFIX = "h_"
SESSION_SEPARATOR = "\x1f"
OWN_SESSION_SEPARATOR = "\x1e"


# The ids that name one person, which a subject request (models.SubjectRequest) gives.
SUBJECT_FIELDS = ("visitor_id", "user_id_hash")


def secret_hash(*parts: str) -> str:
    """A keyed hash of `parts` (HMAC-SHA-256 with the secret key, hex): the same for the same parts,
    from which they cannot be read back."""
    message = "\x1f".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def subject_hash(*, property_id: int, field: str, value: str) -> str:
    """One of a person's ids in one property as a SubjectRequest keeps it."""
    return secret_hash(str(property_id), field, value)


def text_key(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode(), usedforsecurity=False).digest()[:8], "big", signed=True)


def visitor_key(visitor_id: str) -> int | None:
    return text_key(visitor_id) if visitor_id else None


def session_key(*, visitor_id: str, session_id: str, event_id: str) -> int:
    if session_id:
        return text_key(visitor_id + SESSION_SEPARATOR + session_id)
    return text_key(visitor_id + OWN_SESSION_SEPARATOR + event_id)


def text_key_sql(expression: str) -> str:
    """PostgreSQL's text_key of a text expression."""
    return f"('x' || substr(md5({expression}), 1, 16))::bit(64)::bigint"


# Positions per request in `arrival`: a batch holds at most MAX_EVENTS events.
ARRIVAL_SLOTS = 512
assert MAX_EVENTS <= ARRIVAL_SLOTS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def arrival(*, received_at: datetime, position: int) -> int:
    """The order in which an event was received: its request's time (µs), then its place in the batch.

    Events of the same `ts` (second-resolution clocks, a batch flushed at once) are put in this
    order wherever a first or last event is chosen (a session's source, campaign, entry and exit
    page), not in the random order of their ids.
    """
    return (received_at - EPOCH) // timedelta(microseconds=1) * ARRIVAL_SLOTS + position
