"""The write side of ingestion: storing accepted batches (from the buffer's drain, or straight from
a request without Redis) in the event store (hooks.events_write), marking their days dirty, the
drop counts, and destroying finished days' salts."""

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import orjson
import structlog
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min
from django.utils import timezone
from redis.exceptions import RedisError

from apps.core.metrics import EVENTS_DROPPED, gauge_register
from apps.core.tasks import TRANSIENT_DATABASE_ERRORS
from apps.ingestion import buffer, enrichment, hooks, identity, live
from apps.ingestion.attribution import attribution
from apps.ingestion.models import DailySalt, DirtyDay, DroppedEvents, Event, SubjectRequest
from apps.ingestion.schema import TEXT_LIMITS
from apps.ingestion.sessions import sessions_derive
from apps.ingestion.signals import events_stored
from apps.keys.services import api_keys_touch
from apps.properties.models import Property

# What an event's request says of it, kept per event: the place of its address, and its user agent parsed.
PLACE_FIELDS = ("country", "region", "city")
AGENT_FIELDS = ("browser", "browser_version", "os", "os_version", "device")

DRAIN_MAX_SECONDS = 20.0

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class AcceptedBatch:
    """Validated events of one request, as buffered and stored. Holds no IP address.

    `context` is what the request says of every event in it: `user_agent`, `country`, `region`
    and `city` (the last three derived from the address, which is not kept). `request_id` is the
    id its request was logged with (apps.core.logs), logged again by the drain that stores it.
    """

    property_id: int
    key_id: int | None  # None: sent by a peer tracker, as the site itself
    received_at: datetime
    events: list[dict]
    context: dict = field(default_factory=dict)
    request_id: str | None = None

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "property_id": self.property_id,
                "key_id": self.key_id,
                "received_at": self.received_at.isoformat(),
                "events": self.events,
                "context": self.context,
                "request_id": self.request_id,
            }
        )

    @classmethod
    def decode(cls, payload: bytes) -> "AcceptedBatch":
        data = orjson.loads(payload)
        return cls(
            property_id=data["property_id"],
            key_id=data["key_id"],
            received_at=datetime.fromisoformat(data["received_at"]),
            events=data["events"],
            context=data.get("context", {}),
            request_id=data.get("request_id"),
        )


def events_drop(*, property_id: int, day, reason: str, count: int) -> None:
    """Count events dropped before ingestion, per property, day and reason.

    With Redis the count is one HINCRBY (a flood of bots costs what normal ingest costs) and
    `dropped_events_flush` adds it to the table each minute; without Redis, straight to the table.
    """
    if count <= 0:
        return
    EVENTS_DROPPED.labels(reason=reason).inc(count)
    if buffer.buffer_enabled() and not buffer.redis_outage():
        try:
            buffer.drops_count(f"{property_id}:{day.isoformat()}:{reason}", count)
            return
        except RedisError as exc:
            buffer.redis_failed(exc, "counting dropped events in the database")
    _dropped_events_add([(property_id, day, reason, count)])


def dropped_events_flush() -> int:
    """Move the drop counts gathered in Redis into the DroppedEvents table; return the rows touched."""
    counts = buffer.drops_take()
    rows = []
    for key, count in counts.items():
        property_id, day, reason = key.split(":")
        rows.append((int(property_id), date.fromisoformat(day), reason, count))
    _dropped_events_add(rows)
    buffer.drops_taken()
    return len(rows)


def _dropped_events_add(rows: list[tuple]) -> None:
    table = DroppedEvents._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for row in sorted(rows):
            cursor.execute(
                f"INSERT INTO {table} (property_id, day, reason, count) VALUES (%s, %s, %s, %s)"
                f" ON CONFLICT (property_id, day, reason) DO UPDATE SET count = {table}.count + EXCLUDED.count",
                list(row),
            )


def daily_salts_destroy(*, today) -> int:
    """Delete every visitor-hash salt of a day before `today` (UTC): a finished day's hashes can then
    never be re-derived from an address, nor linked to the next day's."""
    return DailySalt.objects.filter(day__lt=today).delete()[0]


def events_store(*, batches: list[AcceptedBatch]) -> int:
    """Insert the batches' events, skipping any (property, event_id) already stored; mark days dirty.

    Idempotent: storing the same batches again adds nothing. Return the number of events offered.
    """
    properties = Property.unscoped.in_bulk({batch.property_id for batch in batches})
    sessions_derive([(batch.property_id, event) for batch in batches for event in batch.events])
    rows = []
    for batch in batches:
        prop = properties.get(batch.property_id)
        if prop is None:
            continue  # the property was deleted after the batch was accepted
        context = {**batch.context, **enrichment.user_agent_parse(batch.context.get("user_agent", ""))}
        for position, event in enumerate(batch.events):
            arrival = identity.arrival(received_at=batch.received_at, position=position)
            rows.append(
                event_row(prop, event, tz=prop.tzinfo, received_at=batch.received_at, arrival=arrival, context=context)
            )
    rows = _erased_dropped(rows)
    if not rows:
        return 0
    # A fixed order keeps concurrent transactions from locking the same unique keys crosswise.
    rows.sort(key=lambda row: (row["property_id"], row["event_id"]))
    dirty_days = sorted({(row["property_id"], row["day"]) for row in rows})
    now = timezone.now()
    with transaction.atomic():
        hooks.events_write(rows)
        days_mark_dirty(dirty_days, now=now)
        transaction.on_commit(lambda: events_stored.send(sender=Event))
        transaction.on_commit(lambda: live.live_publish(rows))
    api_keys_touch(key_ids={batch.key_id for batch in batches}, used_at=now)
    return len(rows)


def _erased_dropped(rows: list[dict]) -> list[dict]:
    """The rows but those of a person erased after the row was received (SubjectRequest): an event
    accepted before the erasure and drained after it is counted as dropped, not stored."""
    if not rows:
        return rows
    erasures = SubjectRequest.unscoped.filter(
        kind=SubjectRequest.Kind.ERASURE,
        property_id__in={row["property_id"] for row in rows},
        requested_at__gte=min(row["received_at"] for row in rows),
    ).values_list("property_id", "subject_hash", "requested_at")
    erased_at = {(property_id, subject): at for property_id, subject, at in erasures}
    if not erased_at:
        return rows
    kept, dropped = [], Counter[tuple[int, date]]()
    for row in rows:
        times = [
            erased_at.get(
                (row["property_id"], identity.subject_hash(property_id=row["property_id"], field=name, value=row[name]))
            )
            for name in identity.SUBJECT_FIELDS
            if row[name]
        ]
        if any(at is not None and at >= row["received_at"] for at in times):
            dropped[(row["property_id"], row["day"])] += 1
        else:
            kept.append(row)
    for (property_id, day), count in dropped.items():
        events_drop(property_id=property_id, day=day, reason=DroppedEvents.Reason.ERASED, count=count)
    return kept


def days_mark_dirty(days: list[tuple[int, date]], *, now: datetime) -> None:
    """Mark sorted (property_id, day) pairs dirty, each with a fresh token (see DirtyDay)."""
    DirtyDay.objects.bulk_create(
        [
            DirtyDay(property_id=property_id, day=day, token=secrets.randbits(63), marked_at=now, first_marked_at=now)
            for property_id, day in days
        ],
        update_conflicts=True,
        unique_fields=["property", "day"],
        update_fields=["token", "marked_at"],
    )


def event_row(prop: Property, event: dict, *, tz, received_at: datetime, arrival: int, context: dict) -> dict:
    """The column values of one validated event (EVENT_COLUMNS), derived fields included. `context`
    holds what its request said of it: the place (PLACE_FIELDS) and the parsed user agent (AGENT_FIELDS)."""
    ts = datetime.fromisoformat(event["ts"])
    fields = {name: event[name] for name in TEXT_LIMITS}
    fields.update(attribution(url=event["url"], referrer=event["referrer"], event=event))
    return dict(
        property_id=prop.pk,
        ts=ts,
        received_at=received_at,
        arrival=arrival,
        day=ts.astimezone(tz).date(),
        campaign_key=fields["campaign_id"] or fields["utm_campaign"],
        visitor_key=identity.visitor_key(event["visitor_id"]),
        session_key=identity.session_key(
            visitor_id=event["visitor_id"], session_id=event["session_id"], event_id=event["event_id"]
        ),
        data=event["data"],
        **{name: context.get(name, "") for name in (*PLACE_FIELDS, *AGENT_FIELDS)},
        **fields,
    )


# What an insert writes: all but the id and the visit key, which the rollup refresh sets.
EVENT_COLUMNS = tuple(
    field.column
    for field in Event._meta.concrete_fields
    if field.column and not field.primary_key and field.name != "visit_key"
)


@dataclass(frozen=True)
class Drained:
    stored: int  # buffer entries stored
    finished: bool  # False: stopped at the time limit with entries still arriving; the caller continues


def ingest_buffer_drain(*, max_seconds: float = DRAIN_MAX_SECONDS) -> Drained:
    """Store buffered batches while they keep arriving, for at most `max_seconds`.

    Transient database errors propagate (the task retries them); the entries stay pending and are
    stored by the retry or by another drain. Past the time limit the drain flag stays set: the
    caller schedules the continuation (apps.ingestion.tasks).
    """
    buffer.group_ensure()
    buffer.drain_flag_renew()
    read_count = settings.CLICKMETER_INGEST_DRAIN_READ_COUNT
    # After a short read, entries gather this long: one transaction per ~50 ms instead of one per few
    # requests cut the worker's CPU per event several times over (docs/benchmarks.md).
    gather_seconds = settings.CLICKMETER_INGEST_DRAIN_GATHER_MS / 1000
    buffer.entries_claim_stale(read_count)
    idle_wait_ms = settings.CLICKMETER_INGEST_DRAIN_IDLE_WAIT_MS
    deadline = time.monotonic() + max_seconds
    stored = 0
    entries = buffer.entries_read_own_pending(read_count)
    while True:
        buffer.drain_flag_renew()
        if not entries:
            entries = buffer.entries_read_new(read_count, block_ms=idle_wait_ms)
        if not entries:
            # Going idle: clear the flag, then look once more, so that an entry appended meanwhile
            # is either read here or has scheduled a new drain.
            buffer.drain_flag_clear()
            entries = buffer.entries_read_new(read_count)
            if not entries:
                return Drained(stored, finished=True)
        stored += _entries_store(entries)
        if time.monotonic() > deadline:
            return Drained(stored, finished=False)
        if len(entries) < read_count and idle_wait_ms:
            time.sleep(gather_seconds)
        entries = buffer.entries_read_own_pending(read_count)


def _entries_store(entries: list[tuple[bytes, dict]]) -> int:
    decoded = []
    for entry_id, fields in entries:
        try:
            decoded.append((entry_id, fields, AcceptedBatch.decode(fields[b"b"])))
        except (KeyError, ValueError, TypeError) as exc:
            buffer.entry_dead_letter(entry_id, fields, reason=f"undecodable: {exc}")
    try:
        events_store(batches=[batch for _, _, batch in decoded])
    except TRANSIENT_DATABASE_ERRORS:
        raise
    except DatabaseError:
        # One entry the database refuses must not hold back the others: isolate it.
        for entry_id, fields, batch in decoded:
            try:
                events_store(batches=[batch])
            except TRANSIENT_DATABASE_ERRORS:
                raise
            except DatabaseError as exc:
                buffer.entry_dead_letter(entry_id, fields, reason=f"refused by the database: {exc}")
            else:
                buffer.entries_ack([entry_id])
        return len(decoded)
    buffer.entries_ack([entry_id for entry_id, _, _ in decoded])
    logger.info(
        "batches_stored",
        batches=len(decoded),
        events=sum(len(batch.events) for _, _, batch in decoded),
        request_ids=[batch.request_id for _, _, batch in decoded],
    )
    return len(decoded)


def metrics_gauges_register() -> None:
    """The gauges /metrics reads from the buffer and the dirty days (apps.core.metrics)."""

    def buffered(read: Callable[[], float | None]) -> Callable[[], float | None]:
        def guarded() -> float | None:
            if not buffer.buffer_enabled() or buffer.redis_outage():
                return None
            try:
                return read()
            except RedisError:
                return None

        return guarded

    def rollup_lag() -> float:
        oldest = DirtyDay.objects.aggregate(oldest=Min("first_marked_at"))["oldest"]
        return (timezone.now() - oldest).total_seconds() if oldest is not None else 0.0

    gauge_register(
        "clickmeter_buffer_depth",
        "Batches appended to the ingest buffer and not yet stored.",
        buffered(buffer.buffer_depth),
    )
    gauge_register(
        "clickmeter_buffer_oldest_seconds",
        "How long the oldest batch not yet stored has waited: the drain's lag.",
        buffered(lambda: buffer.oldest_entry_age_seconds() or 0.0),
    )
    gauge_register("clickmeter_dirty_days", "Property-days whose rollups wait to be rebuilt.", DirtyDay.objects.count)
    gauge_register(
        "clickmeter_rollup_lag_seconds", "How long the oldest dirty day has waited for its rollup rebuild.", rollup_lag
    )
