from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.queries import vocabulary
from apps.reports.queries.query import CONTAINS, IS, IS_NOT, Condition
from apps.reports.queries.vocabulary import dimension_lookup
from apps.reports.selectors import realtime_report, realtime_visitors, report_event_data
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def store(prop, events: list[dict], **context) -> None:
    batch = AcceptedBatch(0, 0, NOW, events, {"user_agent": FIREFOX, **context})
    events_store(batches=[replace(batch, property_id=prop.pk)])


def event(minutes_ago: float, **fields) -> dict:
    ts = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return validated_event(ts=ts, url="https://example.com" + fields.get("path", "/"), **fields)


def test_event_data_counts_each_key_and_value_of_one_event_type(tenant_a):
    store(
        tenant_a.property,
        [
            event(60, type="signup", visitor_id="v1", data={"plan": "pro", "seats": 3}),
            event(50, type="signup", visitor_id="v2", data={"plan": "pro"}),
            event(40, type="signup", visitor_id="v2", data={"plan": "free"}),
            event(30, type="download", visitor_id="v3", data={"plan": "pro"}),
        ],
    )
    rows = report_event_data(
        property=tenant_a.property, date_from=date(2026, 5, 4), date_to=date(2026, 5, 4), event_type="signup"
    )
    assert rows == [
        {"key": "plan", "value": "pro", "events": 2, "unique_visitors": 2},
        {"key": "plan", "value": "free", "events": 1, "unique_visitors": 1},
        {"key": "seats", "value": "3", "events": 1, "unique_visitors": 1},
    ]


def test_event_data_honours_event_filters_and_session_filters_by_whole_sessions(tenant_a):
    google = {"referrer": "https://www.google.com/"}
    store(
        tenant_a.property,
        [
            event(12, visitor_id="v1", session_id="s1", path="/a", **google),
            event(10, type="signup", visitor_id="v1", session_id="s1", data={"plan": "pro"}, path="/a"),
            event(9, visitor_id="v2", session_id="s2", path="/b"),
            event(8, type="signup", visitor_id="v2", session_id="s2", data={"plan": "free"}, path="/b"),
        ],
    )
    day = date(2026, 5, 4)
    common = {"property": tenant_a.property, "date_from": day, "date_to": day, "event_type": "signup"}

    def plans(*where) -> list[str]:
        return [row["value"] for row in report_event_data(**common, where=where)]

    def condition(operator: str, dimension: str, value: str) -> Condition:
        return Condition(operator, vocabulary.DIMENSIONS[dimension], (value,))

    assert plans(condition(IS, "event:page", "/c")) == []
    assert plans(condition(IS, "event:page", "/a")) == ["pro"]
    assert plans(condition(IS, "visit:entry_page", "/b")) == ["free"]
    assert plans(condition(IS, "visit:source", "Google")) == ["pro"], (
        "the signup's session came from Google, though the signup itself did not"
    )
    assert plans(condition(IS, "visit:source", "Google"), condition(IS, "event:page", "/b")) == []
    assert plans(condition(IS_NOT, "visit:source", "Google")) == ["free"]
    assert plans(condition(CONTAINS, "event:page", "b")) == ["free"]
    assert plans(Condition(IS, dimension_lookup("event:props:plan"), ("pro",))) == ["pro"]


def test_realtime_counts_the_last_minutes_only(tenant_a):
    store(
        tenant_a.property,
        [
            event(1, visitor_id="v1", path="/a"),
            event(3, visitor_id="v2", path="/a"),
            event(4, visitor_id="v2", path="/b", type="click"),
            event(6, visitor_id="v3", path="/c"),
            event(31, visitor_id="v4", path="/d"),
        ],
    )
    assert realtime_visitors(property=tenant_a.property, now=NOW) == 2
    report = realtime_report(property=tenant_a.property, now=NOW)
    assert (report["unique_visitors"], report["pageviews"]) == (3, 3)
    assert len(report["per_minute"]) == 30 and report["per_minute"][-1]["minute"] == "12:00"
    assert {row["minute"]: row["pageviews"] for row in report["per_minute"] if row["pageviews"]} == {
        "11:59": 1,
        "11:57": 1,
        "11:54": 1,
    }
    assert report["pages"] == [
        {"path": "/a", "pageviews": 2, "unique_visitors": 2},
        {"path": "/c", "pageviews": 1, "unique_visitors": 1},
    ]


def test_realtime_sources_count_each_pageview_for_its_sessions_source(tenant_a):
    store(
        tenant_a.property,
        [
            event(3, visitor_id="v1", session_id="s1", path="/", referrer="https://www.google.com/"),
            event(2, visitor_id="v1", session_id="s1", path="/pricing", referrer="https://example.com/"),
            event(1, visitor_id="v2", session_id="s2", path="/"),
        ],
    )
    report = realtime_report(property=tenant_a.property, now=NOW)
    assert report["sources"] == [{"source": "Google", "pageviews": 2, "unique_visitors": 1}]
