"""Sessions for events that carry none: a visitor's session ends after 30 minutes without events.

The last session of each (property, visitor) is kept in the cache (Redis in production) for a
little longer than the timeout. Two drains storing the same visitor at the same moment may start
two sessions where one was due: a rare over-count, never a lost or merged event.
"""

import uuid
from datetime import datetime

from django.core.cache import cache
from redis.exceptions import RedisError

from apps.ingestion import buffer

SESSION_TIMEOUT_SECONDS = 30 * 60
STATE_TTL_SECONDS = SESSION_TIMEOUT_SECONDS * 2


def _state_key(property_id: int, visitor_id: str) -> str:
    return f"clickmeter:session:{property_id}:{visitor_id}"


def sessions_derive(events: list[tuple[int, dict]]) -> None:
    """Set `session_id` on the (property_id, event) pairs that lack one, in place, in time order."""
    pending = [(property_id, event) for property_id, event in events if not event["session_id"] and event["visitor_id"]]
    if not pending:
        return
    pending.sort(key=lambda pair: pair[1]["ts"])
    keys = {_state_key(property_id, event["visitor_id"]) for property_id, event in pending}
    # While Redis is down (the direct write of an ingest request), sessions are per batch only.
    states = {}
    if not buffer.redis_outage():
        try:
            states = cache.get_many(keys)
        except RedisError as exc:
            buffer.redis_failed(exc, "deriving sessions per batch")
    for property_id, event in pending:
        key = _state_key(property_id, event["visitor_id"])
        ts = datetime.fromisoformat(event["ts"]).timestamp()
        state = states.get(key)
        if state is None or abs(ts - state[1]) > SESSION_TIMEOUT_SECONDS:
            state = ("d_" + uuid.uuid4().hex[:24], ts)
        states[key] = (state[0], max(state[1], ts))
        event["session_id"] = state[0]
    if buffer.redis_outage():
        return
    try:
        cache.set_many({key: states[key] for key in keys}, timeout=STATE_TTL_SECONDS)
    except RedisError as exc:
        buffer.redis_failed(exc, "keeping session state")
