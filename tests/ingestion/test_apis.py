"""POST /v1/events through the Django test client, with the Redis buffer and in-process drains."""

import io
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import DirtyDay, Event
from apps.ingestion.schema import MAX_BODY_BYTES, MAX_EVENTS
from apps.keys import selectors as key_selectors
from apps.keys.models import ApiKey
from apps.keys.services import api_key_revoke

pytestmark = pytest.mark.django_db


def pageview(**overrides) -> dict:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "pageview",
        "context": {"page": {"url": "https://example.com/pricing?plan=pro", "title": "Pricing"}},
        "identity": {"visitor_id": "v1", "session_id": "s1"},
    }
    event.update(overrides)
    return event


def envelope(tenant, events, **fields) -> dict:
    return {"schema_version": 1, "property_id": tenant.property.public_id, "events": events, **fields}


def post(client, tenant, body, *, key=None, content_type="application/json", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key or tenant.write_key}")
    return client.post("/v1/events", data=data, content_type=content_type, **headers)


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_accepted_events_are_buffered_then_stored(client, tenant_a):
    events = [pageview(), pageview(type="signup", data={"plan": "pro"})]
    response = post(client, tenant_a, envelope(tenant_a, events))
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "rejected": 0, "errors": []}
    stored = Event.objects.filter(property=tenant_a.property).order_by("type")
    assert [(e.event_id, e.type) for e in stored] == sorted(
        [(events[0]["event_id"], "pageview"), (events[1]["event_id"], "signup")], key=lambda pair: pair[1]
    )
    signup = stored.get(type="signup")
    assert signup.path == "/pricing"
    assert signup.title == "Pricing"
    assert signup.data == {"plan": "pro"}
    assert DirtyDay.objects.filter(property=tenant_a.property, day=signup.day).exists()


@pytest.mark.parametrize("how", ["bearer", "x-write-key", "query"])
def test_write_key_is_accepted_from_each_documented_place(client, tenant_a, how):
    body = json.dumps(envelope(tenant_a, [pageview()]))
    if how == "bearer":
        response = client.post(
            "/v1/events", body, "application/json", HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}"
        )
    elif how == "x-write-key":
        response = client.post("/v1/events", body, "application/json", HTTP_X_WRITE_KEY=tenant_a.write_key)
    else:
        # navigator.sendBeacon cannot set headers and sends text/plain.
        response = client.post(f"/v1/events?key={tenant_a.write_key}", body, "text/plain;charset=UTF-8")
    assert response.status_code == 202, response.content
    assert Event.objects.filter(property=tenant_a.property).count() == 1


def test_replayed_batch_adds_nothing_even_a_month_later(client, tenant_a):
    events = [pageview(), pageview()]
    post(client, tenant_a, envelope(tenant_a, events))
    month_ago = (timezone.now() - timedelta(days=31)).isoformat()
    replay = envelope(tenant_a, [{**e, "ts": month_ago} for e in events], sent_at=month_ago)
    response = post(client, tenant_a, replay)
    assert response.status_code == 202
    assert Event.objects.filter(property=tenant_a.property).count() == 2


def test_same_event_id_in_two_properties_is_two_events(client, tenant_a, tenant_b):
    event = pageview()
    post(client, tenant_a, envelope(tenant_a, [event]))
    post(client, tenant_b, envelope(tenant_b, [event]))
    assert Event.objects.filter(event_id=event["event_id"]).count() == 2


def test_event_without_event_id_gets_one_and_is_stored(client, tenant_a):
    event = pageview()
    del event["event_id"]
    post(client, tenant_a, envelope(tenant_a, [event, dict(event)]))
    ids = list(Event.objects.filter(property=tenant_a.property).values_list("event_id", flat=True))
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(uuid.UUID(event_id) for event_id in ids)


def test_bad_events_are_rejected_without_sinking_the_batch(client, tenant_a):
    good = pageview()
    events = [
        good,
        "not an object",
        {"event_id": "no-type"},
        pageview(type=7),
        pageview(event_id="x" * 65),
        pageview(context={"page": "not an object"}),
        pageview(data={"a": {"b": {"c": {"d": {"e": 1}}}}}),
        pageview(data={"text": "nul\u0000byte"}),
        pageview(identity={"visitor_id": "nul\u0000"}),
    ]
    response = post(client, tenant_a, envelope(tenant_a, events))
    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 8)
    assert [error["index"] for error in body["errors"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert {error["code"] for error in body["errors"]} == {
        "invalid_event",
        "missing_field",
        "invalid_field",
        "too_long",
        "data_too_deep",
    }
    assert body["errors"][1]["event_id"] == "no-type"
    assert list(Event.objects.values_list("event_id", flat=True)) == [good["event_id"]]


def test_overlong_url_title_and_referrer_are_truncated_not_rejected(client, tenant_a):
    event = pageview(
        context={"page": {"url": "https://e.com/" + "a" * 3000, "title": "t" * 600, "referrer": "r" * 3000}}
    )
    assert post(client, tenant_a, envelope(tenant_a, [event])).json()["accepted"] == 1
    stored = Event.objects.get()
    assert (len(stored.url), len(stored.title), len(stored.referrer)) == (2048, 512, 2048)


def test_client_clock_skew_is_corrected_with_sent_at(client, tenant_a):
    # The client's clock runs two hours behind: its ts and sent_at are both two hours early.
    client_now = timezone.now() - timedelta(hours=2)
    event = pageview(ts=(client_now - timedelta(seconds=30)).isoformat())
    post(client, tenant_a, envelope(tenant_a, [event], sent_at=client_now.isoformat()))
    stored = Event.objects.get()
    assert abs((stored.received_at - timedelta(seconds=30)) - stored.ts) < timedelta(seconds=5)


@pytest.mark.parametrize("ts", [None, "yesterday", 12345, "1999-12-31T00:00:00Z", "2999-01-01T00:00:00Z"])
def test_missing_invalid_absurd_or_future_ts_becomes_server_time(client, tenant_a, ts):
    event = pageview() if ts is None else pageview(ts=ts)
    post(client, tenant_a, envelope(tenant_a, [event]))
    stored = Event.objects.get()
    assert stored.ts == stored.received_at


def test_ts_without_offset_is_utc(client, tenant_a):
    post(client, tenant_a, envelope(tenant_a, [pageview(ts="2026-01-02T03:04:05")]))
    assert Event.objects.get().ts == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_day_is_the_property_local_date(client, db):
    from tests.conftest import tenant_create

    tokyo = tenant_create(timezone="Asia/Tokyo")
    post(client, tokyo, envelope(tokyo, [pageview(ts="2026-03-01T20:00:00Z")]))
    assert str(Event.objects.get().day) == "2026-03-02"


def test_unknown_fields_are_ignored(client, tenant_a):
    body = envelope(tenant_a, [pageview(future_field={"x": 1})], new_envelope_field=True)
    assert post(client, tenant_a, body).json()["accepted"] == 1


def test_campaign_key_prefers_campaign_id_then_utm_campaign(client, tenant_a):
    both = {"campaign": {"campaign_id": "cmp_1", "utm": {"campaign": "winter", "source": "google"}}}
    utm_only = {"campaign": {"utm": {"campaign": "winter"}}}
    post(
        client,
        tenant_a,
        envelope(tenant_a, [pageview(event_id="a", context=both), pageview(event_id="b", context=utm_only)]),
    )
    keys = dict(Event.objects.values_list("event_id", "campaign_key"))
    assert keys == {"a": "cmp_1", "b": "winter"}
    assert Event.objects.get(event_id="a").utm_source == "google"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "empty_body"),
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 400, "invalid_envelope"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json"),
        (b'{"events": [{"type": "pageview"}]}', 400, "missing_field"),
        (b'{"schema_version": "1", "property_id": "p", "events": []}', 400, "invalid_field"),
    ],
)
def test_malformed_envelopes_are_clear_400s(client, tenant_a, body, status, code):
    assert_error(post(client, tenant_a, body), status, code)
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        ('{"property_id": "café"}'.encode("latin-1"), "invalid_json", "UTF-8"),
        ('{"property_id": "p"}'.encode("utf-16"), "invalid_json", "UTF-16"),
        ('{"property_id": "p"}'.encode("utf-16-le"), "invalid_json", "UTF-16"),
        ('{"property_id": "p"}'.encode("utf-32"), "invalid_json", "UTF-32"),
        (b" \r\n\t ", "empty_body", "whitespace"),
        (b'{"events": [{"type": "pageview", "data": {"n": NaN}}]}', "invalid_json", "NaN"),
        (b'{"events": [{"type": "pageview", "data": {"n": -Infinity}}]}', "invalid_json", "Infinity"),
        (b'{"events": [{"type": "pageview", "data": {"n": 1' + b"0" * 400 + b"}}]}", "invalid_json", "infinity"),
        (b'{"property_id": "\\ud800"}', "invalid_json", "surrogate"),
    ],
)
def test_bodies_that_are_not_utf8_json_get_a_400_saying_why(client, tenant_a, body, code, says):
    response = post(client, tenant_a, body)
    assert_error(response, 400, code)
    assert says in response.json()["error"]["message"]
    assert not Event.objects.exists()


def test_a_utf8_byte_order_mark_is_ignored(client, tenant_a):
    body = b"\xef\xbb\xbf" + json.dumps(envelope(tenant_a, [pageview()])).encode()
    assert post(client, tenant_a, body).json()["accepted"] == 1
    assert Event.objects.count() == 1


def chunked_post(client, tenant, body: bytes, *, decoded_by_server: bool = True):
    """POST as a server hands a chunked request to WSGI: no Content-Length; the body ends where the
    server's decoded `wsgi.input` ends, which the server says with `wsgi.input_terminated`."""
    environ = {"wsgi.input": io.BytesIO(body), "HTTP_TRANSFER_ENCODING": "chunked"}
    if decoded_by_server:
        environ["wsgi.input_terminated"] = True
    return client.generic(
        "POST",
        "/v1/events",
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}",
        **environ,
    )


def test_a_chunked_body_without_content_length_is_read(client, tenant_a):
    response = chunked_post(client, tenant_a, json.dumps(envelope(tenant_a, [pageview(), pageview()])).encode())
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 2
    assert Event.objects.count() == 2


def test_a_chunked_body_over_one_mebibyte_is_413(client, tenant_a):
    body = json.dumps(envelope(tenant_a, [pageview()], padding="x" * MAX_BODY_BYTES)).encode()
    assert_error(chunked_post(client, tenant_a, body), 413, "payload_too_large")
    assert not Event.objects.exists()


def test_a_chunked_body_the_server_does_not_decode_is_411(client, tenant_a):
    body = json.dumps(envelope(tenant_a, [pageview()])).encode()
    assert_error(chunked_post(client, tenant_a, body, decoded_by_server=False), 411, "length_required")
    assert not Event.objects.exists()


def test_newer_schema_version_is_refused_with_a_clear_message(client, tenant_a):
    response = post(client, tenant_a, envelope(tenant_a, [pageview()], schema_version=2))
    assert_error(response, 400, "unsupported_schema_version")
    assert "1" in response.json()["error"]["message"]


@pytest.mark.parametrize("count", [0, MAX_EVENTS + 1])
def test_batch_size_is_one_to_five_hundred(client, tenant_a, count):
    assert_error(
        post(client, tenant_a, envelope(tenant_a, [pageview() for _ in range(count)])), 400, "invalid_batch_size"
    )


def test_five_hundred_events_are_accepted(client, tenant_a):
    response = post(client, tenant_a, envelope(tenant_a, [pageview() for _ in range(MAX_EVENTS)]))
    assert response.json()["accepted"] == MAX_EVENTS
    assert Event.objects.count() == MAX_EVENTS


def test_body_over_one_mebibyte_is_413(client, tenant_a):
    padding = "x" * (MAX_BODY_BYTES + 1)
    response = post(client, tenant_a, envelope(tenant_a, [pageview()], padding=padding))
    assert_error(response, 413, "payload_too_large")
    assert not Event.objects.exists()


def test_other_content_types_are_415(client, tenant_a):
    response = post(client, tenant_a, envelope(tenant_a, [pageview()]), content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")


def test_property_id_of_another_property_is_404(client, tenant_a, tenant_b):
    response = post(client, tenant_a, envelope(tenant_b, [pageview()]))
    assert_error(response, 404, "property_not_found")
    assert not Event.objects.exists()


def test_missing_key_is_401(client, tenant_a):
    response = client.post("/v1/events", json.dumps(envelope(tenant_a, [pageview()])), "application/json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("which", ["forged", "read"])
def test_forged_key_and_read_key_are_refused(client, tenant_a, which):
    key = "wk_" + "A" * 32 if which == "forged" else tenant_a.read_key
    assert_error(post(client, tenant_a, envelope(tenant_a, [pageview()]), key=key), 401, "authentication_failed")


def test_revoked_key_is_refused_once_the_one_second_lookup_cache_expires(client, tenant_a):
    assert post(client, tenant_a, envelope(tenant_a, [pageview()])).status_code == 202
    api_key_revoke(api_key=ApiKey.unscoped.get(property=tenant_a.property, kind="write"))
    time.sleep(key_selectors.CACHE_SECONDS + 0.05)
    assert_error(post(client, tenant_a, envelope(tenant_a, [pageview()])), 401, "authentication_failed")


def test_get_is_405_json(client, tenant_a):
    response = client.get("/v1/events", HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}")
    assert_error(response, 405, "method_not_allowed")


def test_unknown_v1_path_is_json_404(client):
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


def test_broker_unreachable_means_events_are_written_directly(client, tenant_a, settings):
    from apps.ingestion import buffer

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    buffer.redis_client.cache_clear()
    response = post(client, tenant_a, envelope(tenant_a, [pageview(), pageview()]))
    assert response.status_code == 202
    assert Event.objects.filter(property=tenant_a.property).count() == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
event_fields = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.text(max_size=70) | json_values,
        "type": st.sampled_from(["pageview", "click", ""]) | json_values,
        "ts": st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | json_values,
        "context": st.fixed_dictionaries(
            {}, optional={"page": st.dictionaries(st.sampled_from(["url", "path", "title", "referrer"]), json_values)}
        )
        | json_values,
        "identity": st.dictionaries(st.sampled_from(["visitor_id", "session_id", "user_id_hash"]), json_values)
        | json_values,
        "data": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event_fields | json_values, min_size=1, max_size=8), sent_at=json_values)
def test_any_json_events_get_a_4xx_or_202_and_accounting_adds_up(client, tenant_a, events, sent_at):
    body = json.dumps(envelope(tenant_a, events, sent_at=sent_at))
    before = Event.objects.count()
    response = post(client, tenant_a, body)
    assert response.status_code in (202, 400), response.content
    if response.status_code == 202:
        result = response.json()
        assert result["accepted"] + result["rejected"] == len(events)
        assert len(result["errors"]) == result["rejected"]
        assert Event.objects.count() - before <= result["accepted"]
