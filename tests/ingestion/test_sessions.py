"""Sessions derived after 30 minutes of inactivity, for events that carry no session_id."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from apps.ingestion.sessions import sessions_derive
from devtools.events import validated_event

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def at(minutes: float, visitor="h_a", **fields) -> dict:
    return validated_event(visitor_id=visitor, ts=(T0 + timedelta(minutes=minutes)).isoformat(), **fields)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_a_session_continues_until_thirty_minutes_of_inactivity():
    events = [at(0), at(10), at(39), at(70), at(75)]
    sessions_derive([(1, event) for event in events])
    ids = [event["session_id"] for event in events]
    assert ids[0] == ids[1] == ids[2], "gaps of 10 and 29 minutes stay in one session"
    assert ids[3] == ids[4] != ids[0], "31 minutes of silence start a new one"


def test_sessions_are_per_visitor_and_property_and_sent_ids_are_kept():
    events = [(1, at(0)), (1, at(1, visitor="h_b")), (2, at(2)), (1, at(3, session_id="s_client"))]
    sessions_derive(events)
    ids = [event["session_id"] for _, event in events]
    assert len(set(ids[:3])) == 3
    assert ids[3] == "s_client"


def test_a_session_continues_across_batches_and_out_of_order_arrivals():
    first, late, later = at(20), at(5), at(45)
    sessions_derive([(1, first)])
    sessions_derive([(1, late)])
    sessions_derive([(1, later)])
    assert first["session_id"] == late["session_id"] == later["session_id"]
