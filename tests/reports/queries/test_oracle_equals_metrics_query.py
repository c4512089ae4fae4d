"""The oracle answers what today's MetricsQuery answers, for every query MetricsQuery can ask.

Event histories go through the real storage path (events_store, then some days rolled up) on the
test database; the oracle reads the stored rows back. Each generated query is asked both ways.
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import Event
from apps.ingestion.storage import events_store
from apps.properties.models import Property
from apps.reports.queries.oracle import query_oracle
from apps.reports.queries.query import IS_NOT, Condition, query_parse
from apps.reports.selectors import GROUPABLE, INTERVALS, QUERY_DIMENSIONS, QUERY_METRICS, MetricsQuery
from apps.reports.services import rollup_refresh_day
from tests.reports.queries.histories import DAYS, FIRST_DAY, TIMEZONES, batches_of, fact
from tests.reports.test_rollup_equivalence import numbered

pytestmark = pytest.mark.django_db

# MetricsQuery's names for the vocabulary's.
METRIC_NAMES = {engine_name: name for name, engine_name in QUERY_METRICS.items()}
DIMENSION_NAMES = {name: dimension.name for name, dimension in QUERY_DIMENSIONS.items()}
assert set(DIMENSION_NAMES) == set(GROUPABLE)
# Values each dimension is filtered by: ones the generated events have, and a blank.
FILTER_VALUES = {
    "type": ["pageview", "click"],
    "path": ["/", "/a"],
    "hostname": ["example.com", "www.example.com"],
    "campaign_id": ["cmp_1", "spring", ""],
    "source": ["Google", "partner", ""],
    "channel": ["direct", "referral", "social"],
    "utm_source": ["partner", ""],
    "utm_campaign": ["spring"],
    "country": ["GB", ""],
    "browser": ["Firefox"],
    "device": ["mobile"],
    "entry_page": ["/a", "/"],
    "exit_page": ["/b", ""],
}
EVENT_GROUPS = ["type", "path", "hostname"]
VISIT_GROUPS = ["campaign_id", "source", "channel", "utm_source", "country", "city", "browser", "device"]


@st.composite
def asked(draw) -> dict:
    """A MetricsQuery's arguments within what it supports."""
    start = draw(st.integers(0, DAYS - 1))
    length = draw(st.integers(1, DAYS - start + 1))
    shape = draw(st.sampled_from(["events", "events", "visits", "entry_page", "exit_page"]))
    interval = None if shape in ("entry_page", "exit_page") else draw(st.sampled_from([None, *INTERVALS]))
    if shape == "events":
        counts = st.sampled_from(["visitors", "visits", "pageviews", "events"])
        metrics = draw(st.lists(counts, min_size=1, unique=True))
        group_by = draw(st.lists(st.sampled_from(EVENT_GROUPS + VISIT_GROUPS), max_size=2, unique=True))
    elif shape == "visits":
        metrics = draw(st.lists(st.sampled_from(list(METRIC_NAMES)), min_size=1, unique=True))
        group_by = []
    else:
        metrics = draw(st.lists(st.sampled_from(["visitors", "visits"]), min_size=1, unique=True))
        group_by = [shape]
    restricted = st.sampled_from(sorted(FILTER_VALUES)).flatmap(
        lambda name: st.tuples(st.just(name), st.sampled_from(FILTER_VALUES[name]))
    )
    return {
        "first": FIRST_DAY + timedelta(days=start - 1),
        "last": FIRST_DAY + timedelta(days=start - 2 + length),
        "metrics": metrics,
        "group_by": group_by,
        "interval": interval,
        "filters": dict(draw(st.lists(restricted, max_size=2))),
        "excluded": dict(draw(st.lists(restricted, max_size=1))),
        "non_empty": draw(st.lists(st.sampled_from(["campaign_id", "path", "country"]), max_size=1)),
        "limit": draw(st.sampled_from([1000, 1000, 1, 2])) if interval is None else 1000,
    }


def metrics_query_rows(prop: Property, q: dict) -> list[dict]:
    """MetricsQuery's answer, in the oracle's shape."""
    query = MetricsQuery(
        property=prop,
        date_from=q["first"],
        date_to=q["last"],
        metrics=tuple(METRIC_NAMES[name] for name in q["metrics"]),
        group_by=tuple(q["group_by"]),
        interval=q["interval"],
        filters=q["filters"],
        where=tuple(Condition(IS_NOT, QUERY_DIMENSIONS[name], (value,)) for name, value in q["excluded"].items()),
        non_empty=tuple(q["non_empty"]),
        limit=q["limit"],
    )
    rows = []
    for row in query.calculate():
        dimensions = [row[name] for name in query.dimensions]
        if query.time_key == "hour":
            dimensions[0] = dimensions[0].replace("T", " ") + ":00"
        elif query.time_key:
            dimensions[0] = dimensions[0].isoformat()
        rows.append({"dimensions": dimensions, "metrics": [row[METRIC_NAMES[name]] for name in q["metrics"]]})
    return rows


def oracle_rows(prop: Property, events: list[dict], q: dict) -> list[dict]:
    """The oracle's answer to the same question, asked in the query language."""
    group_by = [name for name in GROUPABLE if name in q["group_by"]]
    filters = [["is", DIMENSION_NAMES[name], [value]] for name, value in q["filters"].items()]
    filters += [["is_not", DIMENSION_NAMES[name], [value]] for name, value in q["excluded"].items()]
    # MetricsQuery lists only the sessions with pageviews by entry and exit page.
    non_empty = [*q["non_empty"], *(name for name in group_by if name in ("entry_page", "exit_page"))]
    filters += [["is_not", DIMENSION_NAMES[name], [""]] for name in non_empty]
    dimensions = ([f"time:{q['interval']}"] if q["interval"] else []) + [DIMENSION_NAMES[n] for n in group_by]
    query = query_parse(
        {
            "metrics": q["metrics"],
            "date_range": [q["first"].isoformat(), q["last"].isoformat()],
            "dimensions": dimensions,
            "filters": filters,
            "pagination": {"limit": q["limit"]},
            "include": {"time_labels": dimensions == [f"time:{q['interval']}"]} if q["interval"] else {},
        }
    )
    return query_oracle(timezone=prop.tzinfo, events=events, query=query, today=q["last"]).rows


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    timezone=st.sampled_from(TIMEZONES),
    facts=st.lists(fact, min_size=5, max_size=40),
    rolled_up=st.sets(st.integers(-1, DAYS)),
    queries=st.lists(asked(), min_size=1, max_size=4),
)
def test_oracle_answers_what_metrics_query_answers(tenant_a, timezone, facts, rolled_up, queries):
    with transaction.atomic():
        Property.unscoped.filter(pk=tenant_a.property.pk).update(timezone=timezone)
        prop = Property.unscoped.get(pk=tenant_a.property.pk)
        facts = numbered(facts)
        events_store(batches=[replace(b, property_id=prop.pk) for b in batches_of(facts, prop.tzinfo)])
        for offset in sorted(rolled_up):
            rollup_refresh_day(property_id=prop.pk, day=FIRST_DAY + timedelta(days=offset))
        events = list(Event.objects.filter(property=prop).values())
        for q in queries:
            assert oracle_rows(prop, events, q) == metrics_query_rows(prop, q), q
        transaction.set_rollback(True)
