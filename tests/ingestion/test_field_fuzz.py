"""Any value in any field of an event is that event's problem, never the batch's, and never a 5xx.

Each example sends a batch of a valid pageview and an event with one field set to an arbitrary
value (any text, or a JSON value of another type); the answer must be a 202 that accepts the valid
event and accepts or rejects the other with a per-event error, or a 4xx JSON error — and every
event accepted must be stored, by the same drain that stores production traffic.
"""

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import Event

pytestmark = pytest.mark.django_db

# Every string the envelope carries per event, as a path into the event object.
STRING_FIELDS = [
    ("event_id",),
    ("type",),
    ("ts",),
    ("context", "page", "url"),
    ("context", "page", "path"),
    ("context", "page", "title"),
    ("context", "page", "referrer"),
    ("context", "campaign", "campaign_id"),
    *(("context", "campaign", "utm", name) for name in ("source", "medium", "campaign", "term", "content")),
    ("identity", "visitor_id"),
    ("identity", "session_id"),
    ("identity", "user_id_hash"),
]
URL_FIELDS = {("context", "page", "url"), ("context", "page", "referrer")}
# Texts that broke a parser once, or could: brackets, ports, NULs raw and percent-encoded, controls.
NASTY = [
    "https://[x/",
    "http://[::1",
    "https://example.com:99999/",
    "https://example.com:port/",
    "https://example.com/?utm_source=%00&utm_campaign=%ff%fe&campaign_id=%00x",
    "https://exa\x00mple.com/",
    "https://example.com/\u202e\ufeff",
    "//",
    "\x00",
    "9999-99-99T99:99:99",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "",
    " ",
]
text = st.one_of(st.text(), st.sampled_from(NASTY))
# URLs of hypothesis' own making, with arbitrary text after the scheme.
url_text = st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(["https://", "http://", ""]), text)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


def event_with(path: tuple, value) -> dict:
    event = {"event_id": str(uuid.uuid4()), "type": "click", "identity": {"visitor_id": "v1", "session_id": "s1"}}
    node = event
    for name in path[:-1]:
        node = node.setdefault(name, {})
    node[path[-1]] = value
    return event


def fuzzed(draw_value: st.SearchStrategy) -> st.SearchStrategy:
    return st.sampled_from(STRING_FIELDS).flatmap(
        lambda path: st.tuples(st.just(path), url_text | draw_value if path in URL_FIELDS else draw_value)
    )


def assert_answer_and_storage(client, tenant, path: tuple, value):
    good = {"event_id": str(uuid.uuid4()), "type": "pageview", "context": {"page": {"url": "https://example.com/"}}}
    odd = event_with(path, value)
    events = Event.objects.filter(property=tenant.property)
    before = events.count()
    # Examples share the database: an id sent by an earlier example is (rightly) not stored twice.
    odd_id = odd["event_id"]
    repeated = isinstance(odd_id, str) and "\x00" not in odd_id and events.filter(event_id=odd_id).exists()
    envelope = {"property_id": tenant.property.public_id, "events": [good, odd]}
    response = client.post(
        "/v1/events", json.dumps(envelope), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}",
    )  # fmt: skip
    assert response.status_code < 500, response.content
    body = response.json()
    if response.status_code != 202:
        assert 400 <= response.status_code < 500 and body["error"]["code"], body
        assert events.count() == before
        return
    assert body["accepted"] + body["rejected"] == 2, body
    assert [error["index"] for error in body["errors"]] in ([], [1]), body
    for error in body["errors"]:
        assert error["field"] and error["code"] in {"invalid_field", "too_long", "missing_field"}, error
    assert events.count() - before == body["accepted"] - (repeated and not body["errors"]), body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=fuzzed(text))
def test_any_text_in_any_string_field_is_a_per_event_answer(client, tenant_a, case):
    assert_answer_and_storage(client, tenant_a, *case)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=fuzzed(json_value))
def test_any_json_value_in_any_string_field_is_a_per_event_answer(client, tenant_a, case):
    assert_answer_and_storage(client, tenant_a, *case)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_value)
def test_any_data_value_is_a_per_event_answer(client, tenant_a, data):
    assert_answer_and_storage(client, tenant_a, ("data",), data if isinstance(data, dict) else {"value": data})


def test_an_unparsable_url_rejects_its_event_only(client, tenant_a):
    envelope = {
        "property_id": tenant_a.property.public_id,
        "events": [
            {"event_id": "ok", "type": "pageview", "context": {"page": {"url": "https://example.com/"}}},
            {"event_id": "bad", "type": "pageview", "context": {"page": {"url": "https://[x/"}}},
            {"event_id": "bad-ref", "type": "pageview", "context": {"page": {"referrer": "http://[::1"}}},
        ],
    }
    response = client.post(
        "/v1/events", json.dumps(envelope), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
    )  # fmt: skip
    assert response.status_code == 202
    assert response.json()["errors"] == [
        {"index": 1, "event_id": "bad", "code": "invalid_field", "message": "context.page.url is not a valid URL.",
         "field": "context.page.url"},
        {"index": 2, "event_id": "bad-ref", "code": "invalid_field",
         "message": "context.page.referrer is not a valid URL.", "field": "context.page.referrer"},
    ]  # fmt: skip
    assert list(Event.objects.filter(property=tenant_a.property).values_list("event_id", flat=True)) == ["ok"]


def test_a_percent_encoded_nul_in_the_url_is_stored_without_it(client, tenant_a):
    url = "https://example.com/?utm_source=a%00b&utm_campaign=%00&campaign_id=c%00"
    envelope = {
        "property_id": tenant_a.property.public_id,
        "events": [{"type": "pageview", "context": {"page": {"url": url}}}],
    }
    response = client.post(
        "/v1/events", json.dumps(envelope), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
    )  # fmt: skip
    assert response.json()["accepted"] == 1
    stored = Event.objects.get(property=tenant_a.property)
    assert (stored.utm_source, stored.utm_campaign, stored.campaign_id) == ("ab", "", "c")
