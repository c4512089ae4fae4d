"""Imported daily totals answer what the raw events they were counted from answer, for drawn
histories and queries: a property's first days exported as Plausible exports them (daily totals per
table, counted here from the raw events' visits) and imported into a second property, which holds
the later days as raw events, gives every report of the first property's, where the totals' grain
allows (queries/imported.py)."""

import os
from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.imports.models import Import
from apps.imports.services import import_create, import_run
from apps.ingestion.storage import events_store
from apps.properties.models import Property
from apps.reports.queries.engine import query_answer
from apps.reports.queries.imported import IMPORTED_METRICS
from apps.reports.queries.query import DateRange, Query, query_parse
from apps.reports.queries.vocabulary import DIMENSIONS, VISIT_PARTS
from apps.reports.services import rollup_refresh_dirty_days
from apps.reports.stores import event_store
from devtools.plausible import export_zip
from tests.factories import PropertyFactory
from tests.reports.queries.histories import DAYS, FIRST_DAY, TIMEZONES, batches_of, fact, local_ts
from tests.reports.test_rollup_equivalence import numbered

pytestmark = pytest.mark.django_db

# Pageviews, each visitor a visitor of one day (as cookieless visitors are) and every visit with a
# pageview, as Plausible counts them; the days' events within the day.
pageview = fact.map(
    lambda f: {
        **f,
        "type": "pageview",
        "minute": max(f["minute"], 0),
        "visitor_id": f"{f['visitor_id'] or 'v0'}.{f['day']}",
    }
)
DAY_LIST = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
SOURCE_COLUMNS = {
    "visit:source": "source",
    "visit:referrer": "referrer",
    **{f"visit:utm_{name}": f"utm_{name}" for name in ("source", "medium", "campaign", "content", "term")},
}
# Each table's dimensions (grouped together, as Plausible's exporter groups them), and the column of each.
TABLES = {
    "sources": SOURCE_COLUMNS,
    "pages": {"event:page": "page"},
    "entry_pages": {"visit:entry_page": "entry_page"},
    "exit_pages": {"visit:exit_page": "exit_page"},
    "locations": {"visit:country": "country", "visit:region": "region"},
    "devices": {"visit:device": "device"},
    "browsers": {"visit:browser": "browser"},
    "operating_systems": {"visit:os": "operating_system"},
}
PLAUSIBLE_DEVICES = {"desktop": "Desktop", "mobile": "Mobile", "tablet": "Tablet"}
# What a sum of rows counts once per row: a visitor (or, of a page or event type, a visit) in two
# rows of a table is counted twice where a query adds those rows up (a filter holding for several
# values, the totals), as in Plausible's reports; and a visitor of two visits of one source, one
# with a campaign and one without, is in two rows of the sources table.
ONCE_PER_ROW = {"visitors", "visits"}
EXACT = {
    dimension: metrics - {"visitors"} if dimension in SOURCE_COLUMNS else metrics
    for dimension, metrics in IMPORTED_METRICS.items()
    if dimension != "event:hostname"  # a page's rows name one of its hostnames
}
VALUES = ["", "/", "/a", "/b", "partner", "spring", "desktop", "mobile", "Chrome", "Firefox", "EE", "US", "Google"]


def plausible_tables(prop: Property, days: list[date]) -> dict[str, list[dict]]:
    """The property's days as Plausible's exporter writes them, counted from the raw events' visits."""
    store = event_store()

    def counted(dimensions: tuple[str, ...]) -> list[dict]:
        # By day, in one query over the days, as the exporter groups its rows by date.
        query = Query(
            metrics=("visitors", "pageviews", *VISIT_PARTS),
            date_range=DateRange(first=days[0], last=days[-1]),
            dimensions=tuple(DIMENSIONS[name] for name in ("time:day", *dimensions)),
        )
        rows = []
        for day, *row in store.rows(property=prop, query=query, first=days[0], last=days[-1]):
            values = dict(zip(dimensions, row, strict=False))
            visitors, pageviews, bounces, _, _, microseconds, visits = (int(n or 0) for n in row[len(dimensions) :])
            assert microseconds % 1_000_000 == 0, "the histories' visits last whole seconds"
            counts = {"visitors": visitors, "visits": visits, "pageviews": pageviews, "bounces": bounces}
            rows.append({"date": str(day), **values, **counts, "visit_duration": microseconds // 1_000_000})
        return rows

    tables: dict[str, list[dict]] = {"visitors": counted(())}
    for table, columns in TABLES.items():
        tables[table] = []
        for row in counted(tuple(columns)):
            named = {column: row.pop(dimension) or "" for dimension, column in columns.items()}
            if table == "devices":
                named["device"] = PLAUSIBLE_DEVICES.get(named["device"], named["device"])
            tables[table].append({**row, **named, "entrances": row["visits"], "exits": row["visits"]})
    return tables


@st.composite
def queries(draw) -> dict:
    dimension = draw(st.sampled_from(["", *EXACT]))
    first = draw(st.sampled_from(DAY_LIST))
    last = draw(st.sampled_from([day for day in DAY_LIST if day >= first]))
    bucket = draw(st.sampled_from([None, "time:day", "time:week", "time:month"]))
    grouped = draw(st.booleans()) if dimension else False
    totals = draw(st.booleans())
    filters = []
    if dimension and draw(st.booleans()):
        operator = draw(st.sampled_from(["is", "is_not", "contains", "contains_not", "matches", "matches_not"]))
        values = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True))
        if operator.startswith("matches"):
            values = [f"^{value}" for value in values]
        filters.append([operator, dimension, values])
    exact = EXACT[dimension]
    if dimension and (totals or not grouped):
        # Rows added up: what they count once per row is counted once per visit only in visit tables.
        exact = exact - ({"visitors"} if dimension.startswith("visit:") else ONCE_PER_ROW)
    metrics = draw(st.lists(st.sampled_from(sorted(exact)), min_size=1, max_size=4, unique=True))
    return {
        "metrics": metrics,
        "date_range": [first.isoformat(), last.isoformat()],
        "dimensions": [*([dimension] if grouped else []), *([bucket] if bucket else [])],
        "filters": filters,
        "include": {"totals": totals, "time_labels": bool(bucket) and draw(st.booleans())},
    }


@given(
    timezone=st.sampled_from(TIMEZONES),
    facts=st.lists(pageview, min_size=1, max_size=30),
    split=st.integers(0, len(DAY_LIST)),
    asked=st.lists(queries(), min_size=1, max_size=4),
)
@examples(
    max_examples=int(os.environ.get("TEST_IMPORTED_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_imported_daily_totals_and_later_raw_events_answer_what_the_raw_events_answer(
    tenant_a, settings, tmp_path, timezone, facts, split, asked
):
    settings.MEDIA_ROOT = tmp_path
    # Properties new to each example: a store outside the database keeps their events (deleting them
    # from ClickHouse is a mutation of ~1 s), under ids that no later example's properties have.
    with transaction.atomic():
        whole = PropertyFactory(organization=tenant_a.property.organization, timezone=timezone)
        switched = PropertyFactory(organization=whole.organization, timezone=timezone)
        facts = numbered(facts)
        events_store(batches=[replace(b, property_id=whole.pk) for b in batches_of(facts, whole.tzinfo)])
        before = DAY_LIST[:split]
        later = [
            f for f in facts if not before or local_ts(f, whole.tzinfo).astimezone(whole.tzinfo).date() > before[-1]
        ]
        events_store(batches=[replace(b, property_id=switched.pk) for b in batches_of(later, whole.tzinfo)])
        rollup_refresh_dirty_days(quiet_seconds=0)
        if before:
            content = export_zip(plausible_tables(whole, before), before[0], before[-1])
            file = ContentFile(content, name="export.zip")
            done = import_run(import_create(property=switched, source=Import.Source.PLAUSIBLE, file=file))
            assert done.status == Import.Status.DONE, done.error

        for request in asked:
            query = query_parse(request)
            expected = query_answer(property=whole, query=query)
            answered = query_answer(property=switched, query=query)
            assert replace(answered, imports_included=False) == expected, (request, split)
        transaction.set_rollback(True)
