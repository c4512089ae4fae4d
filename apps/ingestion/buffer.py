"""The durable ingest buffer: a Redis stream read through a consumer group.

The ingest view appends one entry per accepted batch (one round trip; a Celery publish only when
no drain is running) and answers 202 once Redis has it; Redis must run with AOF and `noeviction`
(`/readyz` fails otherwise). The `ingest_buffer_drain` task reads many entries at once, stores them in one
transaction and acknowledges them only after the commit, so a worker killed mid-batch leaves its
entries pending. Each process names its Redis connections after its consumer, so the next drain
sees that a consumer's process is gone (no connection of that name) and claims its entries at
once; a consumer that is alive but stuck loses its entries after `CLICKMETER_INGEST_CLAIM_IDLE_SECONDS`.
Storing is idempotent, so a redelivered entry adds nothing.
"""

import logging
import os
import socket
import time
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

GROUP = "clickmeter-drain"
MAX_DELIVERIES = 5
# Set by an append when no drain is scheduled or running, and renewed by a running drain on every
# round; a drain clears it when it goes idle, then reads once more (storage.ingest_buffer_drain).
# The short expiry is for a drain that died: the next append then schedules another.
DRAIN_SCHEDULED_FLAG = "clickmeter:ingest:drain-scheduled"
DRAIN_SCHEDULED_TTL_MS = 15_000


@cache
def redis_client() -> redis.Redis:
    """This process's client; its connections carry the consumer's name, which tells other drains
    that the process is alive (entries_claim_stale)."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
        client_name=consumer_name(),
    )


# A forked process (a gunicorn or Celery worker) is a consumer of its own, with its own connections.
os.register_at_fork(after_in_child=redis_client.cache_clear)


def buffer_enabled() -> bool:
    return bool(settings.REDIS_URL)


# After a Redis call fails, this process goes without Redis for a few seconds: an ingest request
# touches Redis several times (append, sessions, scheduling), and a stalled Redis would otherwise
# cost a socket timeout at each of them, every request.
REDIS_OUTAGE_SECONDS = 5.0
_outage_until = 0.0


def redis_outage() -> bool:
    """Whether a Redis call of this process failed within REDIS_OUTAGE_SECONDS: callers then take
    their way without Redis at once."""
    return time.monotonic() < _outage_until


def redis_failed(exc: Exception, doing: str) -> None:
    """Note that a Redis call failed while `doing` something: skip Redis for REDIS_OUTAGE_SECONDS."""
    global _outage_until
    if not redis_outage():
        logger.warning("Redis unavailable (%s), going without it for %.0f s: %s", doing, REDIS_OUTAGE_SECONDS, exc)
    _outage_until = time.monotonic() + REDIS_OUTAGE_SECONDS


def stream_name() -> str:
    return settings.CLICKMETER_INGEST_STREAM


def dead_letter_stream_name() -> str:
    return settings.CLICKMETER_INGEST_STREAM + ":dead"


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


# One round trip per request: count the request against its rate limits (fixed one-minute
# windows; 0 means no limit), and only within them append the entry, then flag a drain if none is
# scheduled. Returns {status, seconds}: status -1 = limited (seconds until the window resets),
# 1 = appended and a drain must be scheduled, 0 = appended.
APPEND_SCRIPT = """
for i = 1, 2 do
  local limit = tonumber(ARGV[2 + i])
  if limit > 0 then
    local count = redis.call('INCR', KEYS[2 + i])
    if count == 1 then redis.call('EXPIRE', KEYS[2 + i], 60) end
    if count > limit then return {-1, redis.call('TTL', KEYS[2 + i])} end
  end
end
redis.call('XADD', KEYS[1], '*', 'b', ARGV[1])
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[2]) then return {1, 0} end
return {0, 0}
"""


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute allowed per write key (per property for a peer tracker, which sends none:
    `key_id` None) and per client address of a property (0: none).

    `address_id` identifies the address without containing it (a salted hash).
    """

    key_id: int | None
    key_limit: int
    property_id: int
    address_id: str
    address_limit: int

    @property
    def sender(self) -> str:
        return f"key:{self.key_id}" if self.key_id is not None else f"site:{self.property_id}"


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after


@cache
def _append_script(client: redis.Redis):
    return client.register_script(APPEND_SCRIPT)


def buffer_append(payload: bytes, *, limits: RateLimits) -> bool:
    """Append one batch within its rate limits; return True if the caller must schedule a drain.

    Raise RateLimited if a limit is exhausted (nothing is appended then). The entry is written
    before the flag is tested, so an entry is always either seen by a drain that has already
    cleared the flag or followed by a newly scheduled drain.
    """
    keys = [
        stream_name(),
        DRAIN_SCHEDULED_FLAG,
        f"clickmeter:ratelimit:{limits.sender}",
        f"clickmeter:ratelimit:address:{limits.property_id}:{limits.address_id}",
    ]
    args = [payload, DRAIN_SCHEDULED_TTL_MS, limits.key_limit, limits.address_limit]
    status, seconds = _append_script(redis_client())(keys=keys, args=args)
    if status == -1:
        raise RateLimited(max(int(seconds), 1))
    return status == 1


def drain_flag_renew() -> None:
    """Say that a drain is running: appends schedule none while it does, or until it dies and the flag expires."""
    redis_client().set(DRAIN_SCHEDULED_FLAG, 1, px=DRAIN_SCHEDULED_TTL_MS)


def drain_flag_clear() -> None:
    redis_client().delete(DRAIN_SCHEDULED_FLAG)


def group_ensure() -> None:
    try:
        redis_client().xgroup_create(stream_name(), GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def entries_read_own_pending(count: int) -> list[tuple[bytes, dict]]:
    """Entries delivered to this process before but not yet acknowledged (e.g. a retried drain)."""
    return _entries(redis_client().xreadgroup(GROUP, consumer_name(), {stream_name(): "0"}, count=count))


def entries_read_new(count: int, *, block_ms: int = 0) -> list[tuple[bytes, dict]]:
    """New entries for this process, waiting up to `block_ms` for one to arrive (0: do not wait)."""
    response = redis_client().xreadgroup(
        GROUP, consumer_name(), {stream_name(): ">"}, count=count, block=block_ms or None
    )
    return _entries(response)


def _entries(response) -> list[tuple[bytes, dict]]:
    if not response:
        return []
    return [(entry_id, fields) for entry_id, fields in response[0][1] if fields]


def entries_claim_stale(count: int) -> int:
    """Take over the entries of consumers whose process is gone, and any entry idle for too long (its
    consumer is stuck); dead-letter those delivered too often. Return the number claimed.

    A process's connections carry its consumer's name (redis_client), and Redis drops them the
    moment the process dies, so a killed worker's entries are stored by the next drain, not after
    a timeout. A claim resets an entry's idle time, so two drains never both take it for being idle.
    """
    client = redis_client()
    summary = client.xpending(stream_name(), GROUP)
    if not summary["pending"]:
        return 0
    connected = {connection["name"] for connection in client.client_list()}
    gone = [c["name"] for c in summary["consumers"] if c["name"].decode() not in connected]
    orphans = [
        entry
        for consumer in gone
        for entry in client.xpending_range(stream_name(), GROUP, min="-", max="+", count=count, consumername=consumer)
    ]
    idle_ms = settings.CLICKMETER_INGEST_CLAIM_IDLE_SECONDS * 1000
    claimed = _entries_claim(client, orphans, min_idle_ms=0)
    stuck = client.xpending_range(stream_name(), GROUP, min="-", max="+", count=count, idle=idle_ms)
    return claimed + _entries_claim(client, stuck, min_idle_ms=idle_ms)


def _entries_claim(client: redis.Redis, pending: list[dict], *, min_idle_ms: int) -> int:
    claim = []
    for entry in pending:
        if entry["times_delivered"] >= MAX_DELIVERIES:
            entries = client.xrange(stream_name(), entry["message_id"], entry["message_id"])
            fields = entries[0][1] if entries else None
            entry_dead_letter(entry["message_id"], fields or {}, reason="too many deliveries")
        else:
            claim.append(entry["message_id"])
    if not claim:
        return 0
    return len(client.xclaim(stream_name(), GROUP, consumer_name(), min_idle_ms, claim, justid=True))


def entries_ack(entry_ids: list[bytes]) -> None:
    if not entry_ids:
        return
    pipe = redis_client().pipeline(transaction=True)
    pipe.xack(stream_name(), GROUP, *entry_ids)
    pipe.xdel(stream_name(), *entry_ids)
    pipe.execute()


def entry_dead_letter(entry_id: bytes, fields: dict, *, reason: str) -> None:
    """Move an entry that cannot be stored aside, for an operator to inspect; never drop it silently."""
    logger.error("ingest buffer entry %s moved to %s: %s", entry_id, dead_letter_stream_name(), reason)
    pipe = redis_client().pipeline(transaction=True)
    pipe.xadd(dead_letter_stream_name(), {**fields, "reason": reason, "entry_id": entry_id})
    pipe.xack(stream_name(), GROUP, entry_id)
    pipe.xdel(stream_name(), entry_id)
    pipe.execute()


DROPS = "clickmeter:dropped"
DROPS_TAKEN = "clickmeter:dropped:taken"


def drops_count(field: str, count: int) -> None:
    redis_client().hincrby(DROPS, field, count)


def drops_take() -> dict[str, int]:
    """The drop counts to flush: those a previous flush took but did not finish, else the current
    ones, moved aside atomically so that new drops count afresh."""
    client = redis_client()
    if not client.exists(DROPS_TAKEN):
        try:
            client.rename(DROPS, DROPS_TAKEN)
        except redis.ResponseError:  # nothing was dropped since the last flush
            return {}
    # The client returns bytes (decode_responses is off); redis types every reply as bytes or str.
    return {field.decode(): int(count) for field, count in client.hgetall(DROPS_TAKEN).items()}  # type: ignore[union-attr]


def drops_taken() -> None:
    redis_client().delete(DROPS_TAKEN)


def buffer_depth() -> int:
    """Entries appended and not yet stored (queued or being stored)."""
    return redis_client().xlen(stream_name())


def oldest_entry_age_seconds() -> float | None:
    """How long the oldest entry not yet stored has waited (an entry's id is its append time), or None."""
    oldest = redis_client().xrange(stream_name(), count=1)
    if not oldest:
        return None
    appended_ms = int(oldest[0][0].split(b"-")[0])  # type: ignore[union-attr, arg-type]  # bytes, as above
    seconds, microseconds = redis_client().time()
    return max(0.0, round(seconds + microseconds / 1e6 - appended_ms / 1000, 3))


def broker_readiness() -> dict:
    """The broker's readiness for /readyz: its persistence, eviction policy and queue depth."""
    if not buffer_enabled():
        return {"status": "ok", "mode": "in-process tasks (no REDIS_URL)"}
    client = redis_client()
    try:
        persistence = client.info("persistence")
        memory = client.info("memory")
        depth = {"ingest_buffer": buffer_depth(), "celery": client.llen("celery")}
        oldest_entry_seconds = oldest_entry_age_seconds()
    except RedisError as exc:
        return {"status": "fail", "error": str(exc)[:200]}
    problems = []
    if not persistence.get("aof_enabled"):
        problems.append("appendonly is off: an accepted batch could be lost on restart")
    if memory.get("maxmemory_policy") != "noeviction":
        problems.append(f"maxmemory-policy is {memory.get('maxmemory_policy')}, not noeviction")
    status = {
        "status": "fail" if problems else "ok",
        "appendonly": bool(persistence.get("aof_enabled")),
        "maxmemory_policy": memory.get("maxmemory_policy"),
        "queue_depth": depth,
        # How long the oldest accepted batch not yet stored has waited: a drain that stalled shows here.
        "oldest_unstored_seconds": oldest_entry_seconds,
    }
    if problems:
        status["error"] = "; ".join(problems)
    return status
