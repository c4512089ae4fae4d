"""`GET /v1/properties/{id}/events/query`: a time range's raw events matching exact values, a page at a
time, JSON or NDJSON; every page together is every matching event once, in time then id order."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.ingestion.models import Event
from apps.ingestion.storage import AcceptedBatch, events_store
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

START = datetime(2026, 5, 1, 10, tzinfo=UTC)


def stored(tenant, specs: list[tuple[int, str, str]]) -> None:
    """Events at START + seconds, of a type and path."""
    events = [
        validated_event(
            event_id=f"e{n:03d}", ts=(START + timedelta(seconds=s)).isoformat(), type=kind, path=path, visitor_id="v"
        )
        for n, (s, kind, path) in enumerate(specs)
    ]
    events_store(batches=[AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), events)])


def query(client, tenant, **params):
    text = "&".join(f"{name}={value}" for name, value in params.items())
    return client.get(
        f"/v1/properties/{tenant.property.public_id}/events/query?{text}",
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )


def every_page(client, tenant, **params) -> list[dict]:
    found, cursor = [], None
    while True:
        response = query(client, tenant, **params, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.content
        body = response.json()
        found += body["events"]
        cursor = body["next_cursor"]
        if cursor is None:
            return found


RANGE = {"since": "2026-05-01T09:00:00Z", "until": "2026-05-01T12:00:00Z"}


@given(
    specs=st.lists(
        st.tuples(st.integers(0, 5), st.sampled_from(["pageview", "signup"]), st.sampled_from(["/", "/a"])),
        max_size=25,
    ),
    limit=st.integers(1, 7),
    type=st.sampled_from([None, "pageview", "signup"]),
)
@examples(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_pages_together_are_every_matching_event_once_in_order(client, tenant_a, specs, limit, type):
    Event.objects.filter(property=tenant_a.property).delete()
    stored(tenant_a, specs)
    filters = {"type": type} if type else {}
    found = every_page(client, tenant_a, **RANGE, **filters, limit=limit)
    expected = sorted(
        ((START + timedelta(seconds=s), f"e{n:03d}") for n, (s, kind, _) in enumerate(specs) if type in (None, kind))
    )
    assert [(datetime.fromisoformat(e["ts"]), e["event_id"]) for e in found] == expected


def test_filters_range_and_ndjson(client, tenant_a):
    stored(tenant_a, [(0, "pageview", "/"), (60, "signup", "/a"), (7200, "pageview", "/a"), (30, "pageview", "/a")])
    body = query(client, tenant_a, **RANGE, path="/a", type="pageview").json()
    assert [e["event_id"] for e in body["events"]] == ["e003", "e002"]
    assert body["next_cursor"] is None
    short = query(client, tenant_a, since="2026-05-01T10:00:00Z", until="2026-05-01T10:00:59Z").json()
    assert [e["event_id"] for e in short["events"]] == ["e000", "e003"]
    lines = query(client, tenant_a, **RANGE, format="ndjson", limit=2)
    assert lines["Content-Type"].startswith("application/x-ndjson")
    assert [json.loads(line)["event_id"] for line in lines.content.splitlines()] == ["e000", "e003"]
    rest = query(client, tenant_a, **RANGE, format="ndjson", cursor=lines["Clickmeter-Next-Cursor"])
    assert [json.loads(line)["event_id"] for line in rest.content.splitlines()] == ["e001", "e002"]
    assert "Clickmeter-Next-Cursor" not in rest


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-05-01T10:00:00"}, "until"),
        ({"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"format": "xml"}, "format"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, tenant_a, params, field):
    response = query(client, tenant_a, **params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_another_property_or_no_key_sees_nothing(client, tenant_a, tenant_b):
    stored(tenant_a, [(0, "pageview", "/")])
    other = client.get(
        f"/v1/properties/{tenant_a.property.public_id}/events/query", HTTP_AUTHORIZATION=f"Bearer {tenant_b.read_key}"
    )
    assert other.status_code == 404
    assert client.get(f"/v1/properties/{tenant_a.property.public_id}/events/query").status_code == 401
