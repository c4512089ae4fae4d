"""Imports (a file's history into a property's raw events) and exports (a property's raw events as a file)."""

import csv
import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from itertools import islice
from pathlib import Path

import orjson
from django.db import transaction
from django.utils import timezone

from apps.core.api import ApplicationError
from apps.imports.files import InvalidFile
from apps.imports.formats import RECORD_FIELDS, ImportedEvent, clickmeter_events, record_of_row, umami_events
from apps.imports.models import Import
from apps.imports.plausible import plausible_totals
from apps.ingestion import identity
from apps.ingestion.schema import TEXT_LIMITS, EventError, event_validate
from apps.ingestion.storage import days_mark_dirty, event_row
from apps.properties.models import Property
from apps.reports.services import imported_days_delete, imported_days_write
from apps.reports.stores import event_store

ROWS_PER_WRITE = 10_000
READERS: dict[str, Callable[[Path, str], Iterator[tuple[str, int, ImportedEvent | None]]]] = {
    Import.Source.CLICKMETER: clickmeter_events,
    Import.Source.UMAMI: umami_events,
}
NDJSON, CSV = "ndjson", "csv"
EXPORT_FORMATS = (NDJSON, CSV)


class ImportFailed(Exception):
    """What is wrong with an import's file, naming the file and line; nothing of it was kept."""


def import_create(*, property: Property, source: str, file, created_by=None) -> Import:
    """Record an upload to import; import_run loads it (tasks.import_run, in the background)."""
    if source not in Import.Source.values:
        raise ApplicationError(
            "invalid_field", f"source must be one of {', '.join(Import.Source.values)}.", field="source"
        )
    name = Path(file.name or "").name
    return Import.unscoped.create(property=property, source=source, file=file, name=name, created_by=created_by)


def import_run(import_: Import, *, progress: Callable[[int], object] | None = None) -> Import:
    """Load an import's file into its property's raw events, or its daily totals into the property's
    imported totals: all of it, or, on any error, nothing (a run cut off and run again first deletes
    what the import had written). `progress(n)` hears of every n records read."""
    Import.unscoped.filter(pk=import_.pk).update(status=Import.Status.RUNNING, error="")
    _imported_delete(import_)
    load = _totals_load if import_.source == Import.Source.PLAUSIBLE else _events_load
    try:
        count, days = load(import_, progress)
    except ImportFailed as exc:
        return _finished(import_, status=Import.Status.FAILED, error=str(exc))
    except Exception as exc:
        _finished(import_, status=Import.Status.FAILED, error=f"Stopped by {type(exc).__name__}; it is retried.")
        raise
    first_day, last_day = min(days, default=None), max(days, default=None)
    return _finished(import_, status=Import.Status.DONE, events=count, first_day=first_day, last_day=last_day)


def _events_load(import_: Import, progress: Callable[[int], object] | None) -> tuple[int, set[date]]:
    """Write a file of events: read once to check every record (the first bad one fails the
    import, naming its file and line), then again to write it in blocks, each marking its days for
    the rollups; a write that fails midway deletes what was written."""
    prop = import_.property
    count, days = 0, set[date]()
    for row in _rows(import_, progress=progress):
        count += 1
        days.add(row["day"])
    try:
        rows = _rows(import_, progress=progress)
        while block := list(islice(rows, ROWS_PER_WRITE)):
            with transaction.atomic():
                event_store().write(block)
                days_mark_dirty(sorted({(prop.pk, row["day"]) for row in block}), now=timezone.now())
    except BaseException:
        _imported_delete(import_)
        raise
    return count, days


def _totals_load(import_: Import, progress: Callable[[int], object] | None) -> tuple[int, set[date]]:
    """Keep a file of daily totals (plausible.py) in one transaction; its count is the events they count."""
    try:
        totals = plausible_totals(Path(import_.file.path), import_.name, progress=progress)
    except InvalidFile as exc:
        raise ImportFailed(str(exc)) from None
    imported_days_write(property_id=import_.property_id, import_id=import_.pk, totals=totals)
    days_totals = [(day, counts.events) for (dimension, day, _), counts in totals.items() if not dimension]
    return sum(events for _, events in days_totals), {day for day, _ in days_totals}


def import_delete(*, import_: Import) -> None:
    """Delete an import with every event or total it brought; the reports of their days are computed again."""
    _imported_delete(import_)
    import_.file.delete(save=False)
    import_.delete()


def _finished(import_: Import, **fields) -> Import:
    for name, value in {**fields, "finished_at": timezone.now()}.items():
        setattr(import_, name, value)
    import_.save(update_fields=[*fields, "finished_at"])
    return import_


def _imported_delete(import_: Import) -> None:
    imported_days_delete(property_id=import_.property_id, import_id=import_.pk)
    days = event_store().events_delete(property_id=import_.property_id, event_id_prefix=import_.event_id_prefix())
    if days:
        days_mark_dirty(sorted((import_.property_id, day) for day in days), now=timezone.now())


def _rows(import_: Import, *, progress: Callable[[int], object] | None) -> Iterator[dict]:
    """The event rows of an import's file, in its order; ImportFailed at the first that is not one."""
    prop, now, position = import_.property, timezone.now(), 0
    name = import_.name
    try:
        for file, line, imported in READERS[import_.source](Path(import_.file.path), name):
            if progress is not None:
                progress(1)
            if imported is None:
                continue
            try:
                yield _row(import_, prop, imported, now=now, position=position)
            except EventError as exc:
                raise ImportFailed(f"{file}, line {line}: {exc.message}") from None
            position += 1
    except InvalidFile as exc:
        raise ImportFailed(str(exc)) from None


def _row(import_: Import, prop: Property, imported: ImportedEvent, *, now: datetime, position: int) -> dict:
    event = event_validate(imported.event, skew=None, received_at=now)
    event["event_id"] = _imported_id(import_, event["event_id"])
    received_at = imported.received_at or datetime.fromisoformat(event["ts"])
    arrival = imported.arrival
    if arrival is None:
        arrival = identity.arrival(received_at=received_at, position=position % identity.ARRIVAL_SLOTS)
    return event_row(prop, event, tz=prop.tzinfo, received_at=received_at, arrival=arrival, context=imported.context)


def _imported_id(import_: Import, event_id: str) -> str:
    """The id an imported event is kept under: its own, after the import's prefix (hashed if too long)."""
    prefix = import_.event_id_prefix()
    if len(prefix) + len(event_id) > TEXT_LIMITS["event_id"]:
        event_id = hashlib.sha256(event_id.encode()).hexdigest()[:32]
    return prefix + event_id


def events_export(*, property: Property, first: date, last: date, format: str) -> Iterator[bytes]:
    """A property's raw events of the days `first`..`last`, day by day, as NDJSON lines or CSV rows
    (RECORD_FIELDS, `data` as JSON text): the records an import of source `clickmeter` reads."""
    store = event_store()
    days = sorted(day for day in store.events_per_day(property=property) if first <= day <= last)
    if format == CSV:
        yield _csv_rows([RECORD_FIELDS])
    for day in days:
        records = [record_of_row(row) for row in store.events(property=property, day=day)]
        if format == CSV:
            yield _csv_rows(
                [orjson.dumps(r["data"]).decode() if n == "data" else r[n] for n in RECORD_FIELDS] for r in records
            )
        else:
            yield b"".join(orjson.dumps(record) + b"\n" for record in records)


def _csv_rows(rows) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode()
