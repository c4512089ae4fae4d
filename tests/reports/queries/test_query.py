"""The query parser: every JSON request is a Query or an InvalidQuery naming the offending field."""

from datetime import UTC, date
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.reports.queries.query import (
    QUERY_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    InvalidQuery,
    Not,
    Query,
    query_parse,
    time_labels,
)

VALID = {"metrics": ["visitors"], "date_range": "7d"}


def test_a_full_query_parses_into_its_parts():
    query = query_parse(
        {
            "metrics": ["visitors", "bounce_rate", "events:signup"],
            "date_range": ["2026-03-01", "2026-03-31"],
            "dimensions": ["time:day", "visit:source", "event:props:plan"],
            "filters": [
                ["contains", "event:page", ["/blog", "/docs"]],
                ["or", [["is", "visit:country", ["GB"]], ["not", ["matches", "event:props:plan", ["^pro"]]]]],
                ["and", [["is_not", "visit:device", ["mobile"]]]],
            ],
            "order_by": [["visitors", "desc"], ["visit:source", "asc"]],
            "pagination": {"limit": 20, "offset": 40},
            "include": {"totals": True, "time_labels": True, "compare": "previous_period"},
        }
    )
    assert query.metrics == ("visitors", "bounce_rate", "events:signup")
    assert query.date_range.days(date(2026, 6, 1), UTC) == (date(2026, 3, 1), date(2026, 3, 31))
    assert [d.name for d in query.dimensions] == ["time:day", "visit:source", "event:props:plan"]
    assert query.dimensions[2].column == "plan"
    contains, either, both = query.filters
    assert contains == Condition("contains", query_parse_dimension("event:page"), ("/blog", "/docs"))
    assert isinstance(either, AnyOf) and isinstance(either.filters[1], Not)
    assert isinstance(both, AllOf)
    assert query.order_by == (("visitors", "desc"), ("visit:source", "asc"))
    assert (query.limit, query.offset, query.include_totals, query.include_time_labels) == (20, 40, True, True)
    assert query.compare.days(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 1, 29), date(2026, 2, 28))


def query_parse_dimension(name: str):
    return query_parse({**VALID, "dimensions": [name]}).dimensions[0]


@pytest.mark.parametrize(
    ("period", "today", "days"),
    [
        ("day", date(2026, 3, 15), (date(2026, 3, 15), date(2026, 3, 15))),
        ("7d", date(2026, 3, 15), (date(2026, 3, 9), date(2026, 3, 15))),
        ("30d", date(2026, 3, 15), (date(2026, 2, 14), date(2026, 3, 15))),
        ("month", date(2026, 2, 10), (date(2026, 2, 1), date(2026, 2, 28))),
        ("6mo", date(2026, 3, 15), (date(2025, 10, 1), date(2026, 3, 31))),
        ("12mo", date(2026, 1, 15), (date(2025, 2, 1), date(2026, 1, 31))),
        ("year", date(2026, 3, 15), (date(2026, 1, 1), date(2026, 12, 31))),
    ],
)
def test_named_date_ranges_end_in_the_propertys_today(period, today, days):
    assert query_parse({**VALID, "date_range": period}).date_range.days(today, UTC) == days


def test_year_over_year_compares_the_same_days_a_year_before():
    query = query_parse({**VALID, "date_range": ["2024-02-29", "2024-03-02"], "include": {"compare": "year_over_year"}})
    assert query.compare.days(date(2024, 2, 29), date(2024, 3, 2)) == (date(2023, 2, 28), date(2023, 3, 2))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metrics": []}, "metrics"),
        ({"metrics": ["visitors", "nope"]}, "metrics[1]"),
        ({"metrics": ["visitors", "visitors"]}, "metrics[1]"),
        ({"metrics": ["events:"]}, "metrics[0]"),
        ({"date_range": "8d"}, "date_range"),
        ({"date_range": ["2026-03-02", "2026-03-01"]}, "date_range[1]"),
        ({"date_range": ["2026-03-01", "2026-13-01"]}, "date_range[1]"),
        ({"date_range": ["2026-03-01"]}, "date_range"),
        ({"dimensions": ["visit:nope"]}, "dimensions[0]"),
        ({"dimensions": ["time:day", "time:week"]}, "dimensions[1]"),
        ({"dimensions": ["event:props:"]}, "dimensions[0]"),
        ({"dimensions": ["visit:source", "time:hour"], "date_range": "12mo"}, "dimensions[1]"),
        ({"dimensions": ["time:hour"], "date_range": ["2026-01-01", "2026-02-01"]}, "dimensions[0]"),
        ({"date_range": ["2026-03-01T10:00:00", "2026-03-01T11:00:00Z"]}, "date_range[0]"),
        ({"date_range": ["2026-03-01T10:00:00Z", "2026-03-01T09:59:59Z"]}, "date_range[1]"),
        ({"date_range": ["2026-03-01T10:00:00Z", "2026-03-01"]}, "date_range[1]"),
        ({"date_range": ["0001-01-01T00:00:00+05:00", "2026-03-01T10:00:00Z"]}, "date_range[0]"),
        ({"date_range": ["2026-03-01T10:00:00Z", "9999-12-31T23:59:59-05:00"]}, "date_range[1]"),
        ({"dimensions": ["time:minute"]}, "dimensions[0]"),
        (
            {"dimensions": ["time:minute"], "date_range": ["2026-03-01T00:00:00Z", "2026-03-02T00:00:01Z"]},
            "dimensions[0]",
        ),
        (
            {"date_range": ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z"], "include": {"compare": "previous_period"}},
            "include.compare",
        ),
        ({"include": {"compare": ["2026-03-01T00:00:00Z", "2026-03-01T01:00:00Z"]}}, "include.compare"),
        ({"filters": {"is": 1}}, "filters"),
        ({"filters": [["is", "event:page", ["/"]], ["like", "event:page", ["/"]]]}, "filters[1][0]"),
        ({"filters": [["is", "event:page", ["/"]], ["is", "event:page", "/"]]}, "filters[1][2]"),
        ({"filters": [["is", "event:page", []]]}, "filters[0][2]"),
        ({"filters": [["is", "event:page", ["/", 3]]]}, "filters[0][2][1]"),
        ({"filters": [["is", "time:day", ["2026-03-01"]]]}, "filters[0][1]"),
        ({"filters": [["is", "event:page"]]}, "filters[0]"),
        (
            {"filters": [["or", [["is", "event:page", ["/"]], ["matches", "event:page", ["(a+)+"]]]]]},
            "filters[0][1][1][2][0]",
        ),
        ({"filters": [["not", ["contains", "event:nope", ["x"]]]]}, "filters[0][1][1]"),
        ({"filters": [["and", []]]}, "filters[0][1]"),
        (
            {"filters": [["not", ["not", ["not", ["not", ["not", ["is", "event:page", ["/"]]]]]]]]},
            "filters[0][1][1][1][1][1]",
        ),
        ({"order_by": [["pageviews", "desc"]]}, "order_by[0][0]"),
        ({"order_by": [["visitors", "up"]]}, "order_by[0][1]"),
        ({"pagination": {"limit": 0}}, "pagination.limit"),
        ({"pagination": {"limit": True}}, "pagination.limit"),
        ({"pagination": {"offset": -1}}, "pagination.offset"),
        ({"pagination": {"page": 2}}, "pagination.page"),
        ({"include": {"time_labels": True}}, "include.time_labels"),
        ({"include": {"totals": "yes"}}, "include.totals"),
        ({"include": {"compare": "last_year"}}, "include.compare"),
        ({"include": {"compare": "7d"}}, "include.compare"),
        ({"include": {"imports": "yes"}}, "include.imports"),
        ({"include": {"time_zone": True}}, "include.time_zone"),
        ({"site_id": "example.com"}, "site_id"),
        # NUL is in no stored name: PostgreSQL refuses it in text.
        ({"metrics": ["events:sign\x00up"]}, "metrics[0]"),
        ({"dimensions": ["event:props:pl\x00an"]}, "dimensions[0]"),
    ],
)
def test_an_invalid_query_names_the_offending_field(change, field):
    with pytest.raises(InvalidQuery) as raised:
        query_parse({**VALID, **change})
    assert raised.value.field == field


@pytest.mark.parametrize(("missing", "field"), [("metrics", "metrics"), ("date_range", "date_range")])
def test_metrics_and_date_range_are_required(missing, field):
    with pytest.raises(InvalidQuery) as raised:
        query_parse({name: value for name, value in VALID.items() if name != missing})
    assert raised.value.field == field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
query_like = st.fixed_dictionaries(
    {},
    optional={
        "metrics": st.one_of(json_values, st.lists(st.sampled_from(["visitors", "bounce_rate", "x", "events:a"]))),
        "date_range": st.one_of(json_values, st.sampled_from(["7d", "month", ["2026-01-01", "2026-01-02"]])),
        "dimensions": st.one_of(json_values, st.lists(st.sampled_from(["time:hour", "event:page", "visit:os"]))),
        "filters": json_values,
        "order_by": json_values,
        "pagination": json_values,
        "include": json_values,
    },
)


@given(st.one_of(json_values, query_like))
def test_any_json_is_a_query_or_an_invalid_query(data):
    try:
        assert isinstance(query_parse(data), Query)
    except InvalidQuery as exc:
        roots = ("query", *QUERY_FIELDS, *(data if isinstance(data, dict) else ()))
        assert any(exc.field == root or exc.field.startswith((f"{root}[", f"{root}.")) for root in roots)


def test_a_range_of_times_names_its_local_days_and_its_minutes():
    query = query_parse(
        {
            "metrics": ["pageviews"],
            "date_range": ["2026-03-01T23:58:30+05:30", "2026-03-01T18:30:00Z"],
            "dimensions": ["time:minute"],
        }
    )
    kolkata = ZoneInfo("Asia/Kolkata")
    assert query.date_range.days(date(2026, 6, 1), kolkata) == (date(2026, 3, 1), date(2026, 3, 2))
    assert time_labels(query, date(2026, 3, 1), date(2026, 3, 2), kolkata) == [
        "2026-03-01 23:58:00",
        "2026-03-01 23:59:00",
        "2026-03-02 00:00:00",
    ]
