"""The accepting side of ingestion, in the web process: the request-level rules (origin, bots, rate
limits), enrichment from the client's address, and making the batch durable (apps.ingestion.storage
writes it)."""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.exceptions import RedisError

from apps.core.api import ApplicationError
from apps.core.logs import request_id
from apps.core.metrics import EVENTS_ACCEPTED, EVENTS_REJECTED, REQUESTS_RATE_LIMITED
from apps.core.throttle import budget_spend
from apps.ingestion import buffer, enrichment, tasks
from apps.ingestion.models import DroppedEvents
from apps.ingestion.schema import ValidatedBatch
from apps.ingestion.storage import AcceptedBatch, events_drop, events_store
from apps.keys.selectors import ResolvedKey
from apps.properties.selectors import origin_allowed

logger = logging.getLogger(__name__)

MAX_USER_AGENT = 512


@dataclass(frozen=True)
class RequestClient:
    """What the ingest request says of its sender. The address never leaves the web process."""

    ip: str
    user_agent: str
    origin: str | None


def events_receive(*, key: ResolvedKey, batch: ValidatedBatch, client: RequestClient, received_at: datetime) -> dict:
    """Apply the request-level rules to validated events and make the survivors durable.

    In order: a browser origin the property does not allow is refused (403) and counted; events
    from bots are dropped and counted; the rest get the place of the address and, when they carry
    no visitor id, the day's cookieless visitor hash, and are queued within the property's rate
    limits (429 beyond them). Return the ingest response body.
    """
    if client.origin is not None and not origin_allowed(allowed_origins=key.allowed_origins, origin=client.origin):
        _request_drop(key, DroppedEvents.Reason.ORIGIN, count=len(batch.events), received_at=received_at)
        raise ApplicationError(
            "origin_not_allowed", "This origin may not send events to this property.", status_code=403
        )
    body = {"accepted": len(batch.events), "rejected": len(batch.errors), "errors": batch.errors}
    EVENTS_REJECTED.inc(len(batch.errors))
    if enrichment.is_bot(client.user_agent):
        _request_drop(key, DroppedEvents.Reason.BOT, count=len(batch.events), received_at=received_at)
        return {**body, "accepted": 0, "dropped": len(batch.events)}
    if not batch.events:
        return body
    utc_day = received_at.astimezone(UTC).date()
    visitor = enrichment.visitor_hash(
        day=utc_day, property_public_id=key.property_public_id, ip=client.ip, user_agent=client.user_agent
    )
    for event in batch.events:
        event["visitor_id"] = event["visitor_id"] or visitor
    context = {"user_agent": client.user_agent[:MAX_USER_AGENT], **enrichment.geo_lookup(client.ip)}
    limits = buffer.RateLimits(
        key_id=key.id,
        key_limit=key.ingest_limit_per_key,
        property_id=key.property_id,
        address_id=enrichment.address_id(day=utc_day, ip=client.ip),
        address_limit=key.ingest_limit_per_address,
    )
    accepted = AcceptedBatch(
        property_id=key.property_id,
        key_id=key.id,
        received_at=received_at,
        events=batch.events,
        context=context,
        request_id=request_id(),
    )
    try:
        events_accept(batch=accepted, limits=limits)
    except buffer.RateLimited as exc:
        REQUESTS_RATE_LIMITED.inc()
        raise ApplicationError(
            "rate_limited",
            f"Too many requests; retry after {exc.retry_after} s.",
            status_code=429,
            retry_after=exc.retry_after,
        ) from None
    EVENTS_ACCEPTED.inc(len(batch.events))
    return body


def _request_drop(key: ResolvedKey, reason: str, *, count: int, received_at: datetime) -> None:
    local_day = received_at.astimezone(zoneinfo.ZoneInfo(key.property_timezone)).date()
    events_drop(property_id=key.property_id, day=local_day, reason=reason, count=count)


def events_accept(*, batch: AcceptedBatch, limits: buffer.RateLimits) -> None:
    """Make an accepted batch durable: in the ingest buffer, or straight in the database.

    Rate limits are enforced by the buffer (Redis), or without Redis (the embedded default) by a
    counter in the database cache; not while Redis is configured but unreachable. Raise
    buffer.RateLimited over a limit, DatabaseError if neither Redis nor the database can take the
    batch; nothing is written in either case.
    """
    if not buffer.buffer_enabled():
        _rate_limits_spend(limits)
    elif not buffer.redis_outage():
        try:
            drain_needed = buffer.buffer_append(batch.encode(), limits=limits)
        except RedisError as exc:
            buffer.redis_failed(exc, "storing ingested events directly")
        else:
            if drain_needed:
                tasks.drain_schedule()
            return
    events_store(batches=[batch])


def _rate_limits_spend(limits: buffer.RateLimits) -> None:
    """Count a request against its limits as the buffer's script does, in the database cache."""
    budgets = (
        (f"ingest:{limits.sender}", limits.key_limit),
        (f"ingest:address:{limits.property_id}:{limits.address_id}", limits.address_limit),
    )
    for key, limit in budgets:
        if limit > 0 and (wait := budget_spend(key, limit=limit, seconds=60)) is not None:
            raise buffer.RateLimited(wait)
