"""The live stream of stored events, for the realtime view (Server-Sent Events): after the commit that
stored a batch, its events are published on their property's Redis channel — each one's time, type,
path, source, country and device, nothing that tells one visitor from another — and a stream
(`live_events`) hands them on as they come.
"""

import time
from collections import defaultdict
from collections.abc import Iterator

import orjson
import redis
from django.conf import settings
from redis.exceptions import RedisError

from apps.ingestion import buffer

LIVE_FIELDS = ("type", "path", "source", "country", "device")
# A stream says it is alive this often without events, so that proxies keep it open.
KEEPALIVE_SECONDS = 15.0


def live_channel(property_id: int) -> str:
    return f"clickmeter:live:{property_id}"


def live_publish(rows: list[dict]) -> None:
    """Publish stored event rows, one message (a JSON list) per property; without Redis, nothing."""
    if not buffer.buffer_enabled() or buffer.redis_outage():
        return
    by_property: defaultdict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_property[row["property_id"]].append({"ts": row["ts"], **{name: row[name] for name in LIVE_FIELDS}})
    try:
        pipeline = buffer.redis_client().pipeline(transaction=False)
        for property_id, events in by_property.items():
            pipeline.publish(live_channel(property_id), orjson.dumps(events))
        pipeline.execute()
    except RedisError as exc:
        buffer.redis_failed(exc, "publishing the live stream")


def live_events(property_id: int, *, seconds: float) -> Iterator[bytes | None]:
    """None once subscribed, then for `seconds` each message published for the property (a JSON list
    of events) as it comes, and None after KEEPALIVE_SECONDS without one. Its own connection: it
    waits longer than the buffer's client's socket timeout allows."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT)
    subscription = client.pubsub()
    try:
        subscription.subscribe(live_channel(property_id))
        subscription.get_message(timeout=KEEPALIVE_SECONDS)  # the subscription's confirmation
        yield None
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = subscription.get_message(timeout=min(KEEPALIVE_SECONDS, left))
            yield message["data"] if message is not None else None
    finally:
        subscription.close()
        client.close()
