"""Plausible's CSV export (the zip its site settings page produces, or one CSV file of it) read as
imported daily totals (reports.models.ImportedDay), one query dimension at a time.

Each file, `imported_<table>_<first>_<last>.csv` (or without `imported_`), holds a table of totals
per site-local day and value, in the columns of Plausible's exporter (lib/plausible/exports.ex),
matched by the header's names: `imported_visitors` the days' totals, the others by source and
campaign, page and hostname, entry and exit page, country and region, device, browser, operating
system and custom event. What Plausible keeps that a query here cannot name is left: city (a
GeoNames id, where this server keeps names), browser and OS versions, custom events' link URL and
path, scroll depth and time on page.
"""

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from apps.imports.files import InvalidFile, records, zip_members
from apps.ingestion.schema import UTM_FIELDS
from apps.reports.queries.imported import COUNT_FIELDS, PAGEVIEW, Counts

FILE_NAME = re.compile(r"^(?:imported_)?(?P<table>[a-z_]+)_(?P<first>\d{8})_(?P<last>\d{8})\.csv$")
TOTALS = "visitors"
# Events Plausible stores beside pageviews that are no custom events of the site.
NOT_CUSTOM_EVENTS = frozenset(("engagement", PAGEVIEW))
# Plausible's screen sizes as this server's devices (enrichment.device).
DEVICES = {"Desktop": "desktop", "Laptop": "desktop", "Mobile": "mobile", "Tablet": "tablet"}
Key = tuple[str, date, str]  # (dimension, day, value)


def _referrer_host(referrer: str) -> str:
    """Plausible keeps a referrer as host and path; the visit:referrer here is its host."""
    return referrer.split("://", 1)[-1].split("/", 1)[0].lower()


@dataclass(frozen=True)
class Table:
    """A file of the export: the query dimensions it holds (each read from a column, through a
    function) and the column each count is read from."""

    dimensions: dict[str, tuple[str, Callable[[str], str]]]
    counts: dict[str, str]


def _same(value: str) -> str:
    return value


_VISIT_COUNTS = {
    "visitors": "visitors",
    "visits": "visits",
    "pageviews": "pageviews",
    "bounces": "bounces",
    "visit_seconds": "visit_duration",
}
TABLES = {
    TOTALS: Table({"": ("date", lambda _: "")}, {**_VISIT_COUNTS, "events": "pageviews"}),
    "sources": Table(
        {
            "visit:source": ("source", _same),
            "visit:referrer": ("referrer", _referrer_host),
            **{f"visit:utm_{name}": (f"utm_{name}", _same) for name in UTM_FIELDS},
        },
        _VISIT_COUNTS,
    ),
    "pages": Table(
        {"event:page": ("page", _same), "event:hostname": ("hostname", _same)},
        {"visitors": "visitors", "visits": "visits", "pageviews": "pageviews"},
    ),
    "entry_pages": Table({"visit:entry_page": ("entry_page", _same)}, {**_VISIT_COUNTS, "visits": "entrances"}),
    "exit_pages": Table({"visit:exit_page": ("exit_page", _same)}, {**_VISIT_COUNTS, "visits": "exits"}),
    "locations": Table({"visit:country": ("country", _same), "visit:region": ("region", _same)}, _VISIT_COUNTS),
    "devices": Table({"visit:device": ("device", lambda size: DEVICES.get(size, size.lower()))}, _VISIT_COUNTS),
    "browsers": Table({"visit:browser": ("browser", _same)}, _VISIT_COUNTS),
    "operating_systems": Table({"visit:os": ("operating_system", _same)}, _VISIT_COUNTS),
    "custom_events": Table({"event:name": ("name", _same)}, {"visitors": "visitors", "events": "events"}),
}


def plausible_totals(path: Path, name: str, *, progress: Callable[[int], object] | None = None) -> dict[Key, Counts]:
    """The daily totals of a Plausible export, summed per (dimension, day, value); InvalidFile naming
    the file and line of the first thing that is not Plausible's."""
    members = zip_members(path)
    files = sorted(members) if members else [name]
    tables = {}
    for file in files:
        matched = FILE_NAME.match(Path(file).name)
        if matched is None or matched["table"] not in TABLES:
            raise InvalidFile(
                f"{file}: not a file of Plausible's CSV export (imported_<table>_<first day>_<last day>.csv,"
                f" the table one of {', '.join(TABLES)})."
            )
        tables[file] = matched["table"]
    if TOTALS not in tables.values():
        raise InvalidFile(f"{name}: no imported_{TOTALS}_…csv, which holds the days' totals.")
    totals: defaultdict[Key, Counts] = defaultdict(Counts)
    for file, table in tables.items():
        found = records(path, name, member=file) if members else records(path, name)
        for where, line, record in found:
            if progress is not None:
                progress(1)
            for key, counts in _read(TABLES[table], table, record, f"{where}, line {line}"):
                summed = totals[key]
                for count in COUNT_FIELDS:
                    setattr(summed, count, getattr(summed, count) + getattr(counts, count))
    return dict(totals)


def _read(table: Table, name: str, record: dict[str, str], where: str) -> Iterator[tuple[Key, Counts]]:
    for column in ("date", *(column for column, _ in table.dimensions.values()), *table.counts.values()):
        if column not in record:
            raise InvalidFile(f"{where}: no {column} column, which Plausible's imported_{name} has.")
    try:
        day = date.fromisoformat(record["date"])
    except ValueError:
        raise InvalidFile(f"{where}: date must be a day such as 2024-05-01.") from None
    counts = Counts(**{count: _count(record[column], column, where) for count, column in table.counts.items()})
    if name == "custom_events" and record["name"] in NOT_CUSTOM_EVENTS:
        return
    for dimension, (column, read) in table.dimensions.items():
        yield (dimension, day, read(record[column])), counts
    if name == TOTALS:
        # The day's pageviews as the events of their type; custom events add to the day's events.
        yield ("event:name", day, PAGEVIEW), Counts(visitors=counts.visitors, events=counts.pageviews)
    if name == "custom_events":
        yield ("", day, ""), Counts(events=counts.events)


def _count(text: str, column: str, where: str) -> int:
    if text in ("", "\\N"):  # ClickHouse's NULL, where a day had pageviews but no session or so
        return 0
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise InvalidFile(f"{where}: {column} must be a whole number of at least 0, not {text[:40]!r}.")
    return int(text)
