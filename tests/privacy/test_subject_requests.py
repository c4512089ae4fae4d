"""A person's erasure and access requests: after an erasure nothing of them is in any table or in
Redis, reports no longer count them, an event of theirs still buffered is dropped when drained and a
new one is kept; access hands over their events; the audit keeps no id; only admins may ask."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from apps.ingestion import buffer
from apps.ingestion.identity import visitor_key
from apps.ingestion.models import DroppedEvents, Event, SubjectRequest
from apps.ingestion.storage import AcceptedBatch, dropped_events_flush, events_store
from apps.reports.models import ROLLUPS
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import query_parse
from apps.reports.services import rollup_refresh_dirty_days
from devtools.events import validated_event
from tests.conftest import jwt_for, session_client_for

pytestmark = pytest.mark.django_db

PERSON = "erase-me-7f3a9c"  # an id that appears nowhere else
OTHER = "keep-me-41b2"
DAYS = ("2026-05-01", "2026-05-02")


def ingest(client, tenant, visitor: str, *, n: int) -> None:
    events = [
        {
            "event_id": f"{visitor}-{k}",
            "type": "pageview",
            "ts": f"{DAYS[k % 2]}T10:0{k}:00Z",
            "context": {"page": {"url": f"https://shop.example/p{k}?utm_source=news"}},
            "identity": {"visitor_id": visitor, "session_id": f"s-{visitor}", "user_id_hash": f"u-{visitor}"},
            "data": {"who": visitor},
        }
        for k in range(n)
    ]
    body = json.dumps({"property_id": tenant.property.public_id, "events": events})
    response = client.post("/v1/events", body, "application/json", HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}")
    assert response.status_code == 202, response.content


def ask(client, tenant, what: str, body: dict, *, user=None):
    return client.post(
        f"/v1/properties/{tenant.property.public_id}/subjects/{what}",
        json.dumps(body),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {jwt_for(user or tenant.admin)}",
    )


def visitors(tenant) -> int:
    query = query_parse({"metrics": ["visitors"], "date_range": list(DAYS)})
    return query_answer(property=tenant.property, query=query).rows[0]["metrics"][0]


def rows_holding(text: str) -> list[str]:
    """Every row of every model with a text or JSON field holding `text`."""
    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
        manager = getattr(model, "unscoped", model._default_manager)
        for field in fields:
            if manager.filter(**{f"{field.name}__contains": text}).exists():
                found.append(f"{model._meta.label}.{field.name}")
        for field in (f for f in model._meta.concrete_fields if isinstance(f, models.JSONField)):
            if any(text in json.dumps(value) for value in manager.values_list(field.name, flat=True)):
                found.append(f"{model._meta.label}.{field.name}")
    return found


def redis_holding(text: str) -> list[str]:
    """Every key of the Redis database whose value holds `text` (strings, hashes, lists, streams)."""
    client = buffer.redis_client()
    needle, found = text.encode(), []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [*client.hgetall(key).keys(), *client.hgetall(key).values()]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"stream":
            values = [v for _, entry in client.xrange(key) for pair in entry.items() for v in pair]
        else:
            values = []
        if any(needle in value for value in values):
            found.append(key.decode())
    return found


def test_an_erased_visitor_is_in_no_table_no_cache_and_no_report(client, tenant_a, settings):
    settings.CLICKMETER_REPORT_CACHE_SECONDS = 3600
    ingest(client, tenant_a, PERSON, n=4)
    ingest(client, tenant_a, OTHER, n=2)
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert visitors(tenant_a) == 2  # and now in the report cache
    assert rows_holding(PERSON)
    assert all(rollup.objects.filter(visitor_key=visitor_key(PERSON)).exists() for rollup in ROLLUPS)

    response = ask(client, tenant_a, "erase", {"visitor_id": PERSON})
    assert response.status_code == 200, response.content
    assert response.json()["events_deleted"] == 4
    assert rows_holding(PERSON) == []
    assert redis_holding(PERSON) == []
    assert not any(rollup.objects.filter(visitor_key=visitor_key(PERSON)).exists() for rollup in ROLLUPS)
    assert visitors(tenant_a) == 1
    assert Event.objects.filter(property=tenant_a.property, visitor_id=OTHER).count() == 2
    audit = SubjectRequest.unscoped.get()
    assert (audit.kind, audit.events, audit.requested_by) == ("erasure", 4, tenant_a.admin.email)
    assert PERSON not in audit.subject_hash


def test_a_user_is_erased_by_the_hash_of_their_user_id(client, tenant_a):
    ingest(client, tenant_a, PERSON, n=3)
    response = ask(client, tenant_a, "erase", {"user_id_hash": f"u-{PERSON}"})
    assert response.json()["events_deleted"] == 3
    assert not Event.objects.filter(user_id_hash=f"u-{PERSON}").exists()


def test_an_event_received_before_the_erasure_and_drained_after_it_is_dropped_and_a_later_one_kept(client, tenant_a):
    before = datetime.now(UTC) - timedelta(seconds=5)
    assert ask(client, tenant_a, "erase", {"visitor_id": PERSON}).status_code == 200
    late = validated_event(ts="2026-05-01T10:00:00Z", visitor_id=PERSON, event_id="late-1")
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, before, [late])])
    dropped_events_flush()
    assert not Event.objects.filter(visitor_id=PERSON).exists()
    assert DroppedEvents.unscoped.get(property=tenant_a.property, reason="erased").count == 1
    # Back after the erasure, and consenting again: a new event is theirs to keep.
    again = validated_event(ts="2026-05-01T11:00:00Z", visitor_id=PERSON, event_id="again-1")
    events_store(batches=[AcceptedBatch(tenant_a.property.pk, 0, datetime.now(UTC) + timedelta(seconds=1), [again])])
    assert list(Event.objects.filter(visitor_id=PERSON).values_list("event_id", flat=True)) == ["again-1"]


def test_access_hands_over_every_event_of_the_person_as_the_export_writes_it(client, tenant_a):
    ingest(client, tenant_a, PERSON, n=3)
    ingest(client, tenant_a, OTHER, n=1)
    response = ask(client, tenant_a, "access", {"visitor_id": PERSON})
    assert response.status_code == 200, response.content
    held = response.json()
    assert held["subject"] == {"visitor_id": PERSON}
    assert sorted(event["event_id"] for event in held["events"]) == [f"{PERSON}-{k}" for k in range(3)]
    assert {event["data"]["who"] for event in held["events"]} == {PERSON}
    assert all(event["utm_source"] == "news" for event in held["events"])
    audit = SubjectRequest.unscoped.get()
    assert (audit.kind, audit.events) == ("access", 3)
    assert Event.objects.filter(visitor_id=PERSON).count() == 3  # access deletes nothing


@pytest.mark.parametrize(
    "body",
    [{}, {"visitor_id": PERSON, "user_id_hash": "u"}, {"visitor_id": ""}, {"visitor_id": "x" * 129}, {"email": "a"}],
)
def test_a_request_not_naming_one_person_is_a_400(client, tenant_a, body):
    for what in ("erase", "access"):
        response = ask(client, tenant_a, what, body)
        assert response.status_code == 400, response.content
        assert "error" in response.json()
    assert not SubjectRequest.unscoped.exists()


def test_only_the_propertys_admins_may_ask(client, tenant_a, tenant_b):
    ingest(client, tenant_a, PERSON, n=1)
    assert ask(client, tenant_a, "erase", {"visitor_id": PERSON}, user=tenant_a.viewer).status_code == 403
    assert ask(client, tenant_a, "access", {"visitor_id": PERSON}, user=tenant_b.owner).status_code == 404
    with_key = client.post(
        f"/v1/properties/{tenant_a.property.public_id}/subjects/erase",
        json.dumps({"visitor_id": PERSON}),
        "application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}",
    )
    assert with_key.status_code == 401
    assert Event.objects.filter(visitor_id=PERSON).count() == 1


def test_the_commands_erase_and_hand_over(client, tenant_a, capsys):
    ingest(client, tenant_a, PERSON, n=2)
    call_command("subject_access", tenant_a.property.public_id, "--visitor-id", PERSON)
    held = json.loads(capsys.readouterr().out)
    assert len(held["events"]) == 2
    call_command("subject_erase", tenant_a.property.public_id, "--visitor-id", PERSON)
    assert "2 events deleted" in capsys.readouterr().out
    assert not Event.objects.filter(visitor_id=PERSON).exists()
    assert [r.requested_by for r in SubjectRequest.unscoped.order_by("pk")] == [
        "manage.py subject_access",
        "manage.py subject_erase",
    ]


def test_an_admin_erases_a_person_in_the_admin_and_sees_the_audit(client, tenant_a):
    ingest(client, tenant_a, PERSON, n=2)
    browser = session_client_for(tenant_a.admin)
    response = browser.post(
        "/admin/ingestion/subjectrequest/add/", {"property": tenant_a.property.pk, "visitor_id": PERSON}
    )
    assert response.status_code == 302, response.content
    assert not Event.objects.filter(visitor_id=PERSON).exists()
    audit = SubjectRequest.unscoped.get()
    page = browser.get("/admin/ingestion/subjectrequest/")
    assert page.status_code == 200 and tenant_a.admin.email.encode() in page.content
    assert PERSON.encode() not in browser.get(f"/admin/ingestion/subjectrequest/{audit.pk}/change/").content


def test_redis_is_searched_where_the_buffer_keeps_events():
    # The search finds an entry of the buffer's stream, so its empty answer above means something.
    buffer.redis_client().xadd(buffer.stream_name(), {"payload": json.dumps({"visitor_id": PERSON})})
    assert redis_holding(PERSON) == [buffer.stream_name()]


def test_access_hands_over_the_traits_the_persons_identify_events_gave(client, tenant_a):
    def identify(k: int, traits: dict) -> dict:
        return {
            "event_id": f"identify-{k}",
            "type": "identify",
            "ts": f"{DAYS[0]}T11:0{k}:00Z",
            "identity": {"user_id_hash": "u-42"},
            "data": traits,
        }

    events = [identify(0, {"plan": "free", "seats": 3}), identify(1, {"plan": "pro", "seats": None})]
    body = json.dumps({"property_id": tenant_a.property.public_id, "events": events})
    response = client.post("/v1/events", body, "application/json", HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}")
    assert response.status_code == 202, response.content
    held = ask(client, tenant_a, "access", {"user_id_hash": "u-42"}).json()
    assert held["traits"] == {"plan": "pro", "seats": "3"}
    assert len(held["events"]) == 2
