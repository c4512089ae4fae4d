"""Plausible CSV exports as Plausible's exporter writes them (lib/plausible/exports.ex: a zip of
`imported_<table>_<first>_<last>.csv`, a header row of its column names in its order, site-local
days), for the tests and bench/imported."""

import csv
import io
import zipfile
from datetime import date

# Each table's columns in the exporter's order.
COLUMNS = {
    "visitors": ["date", "visitors", "pageviews", "bounces", "visits", "visit_duration"],
    "sources": [
        "date",
        "source",
        "referrer",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "utm_term",
        "pageviews",
        "visitors",
        "visits",
        "visit_duration",
        "bounces",
    ],
    "pages": [
        "date",
        "hostname",
        "page",
        "visits",
        "visitors",
        "pageviews",
        "total_scroll_depth",
        "total_scroll_depth_visits",
    ],
    "entry_pages": ["date", "entry_page", "visitors", "entrances", "visit_duration", "bounces", "pageviews"],
    "exit_pages": ["date", "exit_page", "visitors", "visit_duration", "exits", "bounces", "pageviews"],
    "custom_events": ["date", "name", "link_url", "path", "visitors", "events"],
    "locations": ["date", "country", "region", "city", "visitors", "visits", "visit_duration", "bounces", "pageviews"],
    "devices": ["date", "device", "visitors", "visits", "visit_duration", "bounces", "pageviews"],
    "browsers": [
        "date",
        "browser",
        "browser_version",
        "visitors",
        "visits",
        "visit_duration",
        "bounces",
        "pageviews",
    ],
    "operating_systems": [
        "date",
        "operating_system",
        "operating_system_version",
        "visitors",
        "visits",
        "visit_duration",
        "bounces",
        "pageviews",
    ],
}


def csv_text(table: str, rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS[table], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS[table]})
    return out.getvalue()


def export_zip(tables: dict[str, list[dict]], first: date, last: date, *, prefix: str = "imported_") -> bytes:
    """The zip of `tables` (table name -> rows of its columns) over first..last."""
    span = f"{first:%Y%m%d}_{last:%Y%m%d}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for table, rows in tables.items():
            archive.writestr(f"{prefix}{table}_{span}.csv", csv_text(table, rows))
    return out.getvalue()
