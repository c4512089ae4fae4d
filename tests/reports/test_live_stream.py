"""The realtime view's live stream (Server-Sent Events): each event as it is stored, with its time,
type, path, source, country and device and nothing that identifies the visitor; for members and
shared links, not for others; a process keeps only so many streams open."""

import json
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.shared_links.services import shared_link_create
from apps.reports.views import dashboard
from devtools.events import validated_event
from tests.conftest import session_client_for

pytestmark = pytest.mark.django_db


def stored(tenant, path: str, django_capture_on_commit_callbacks) -> None:
    event = validated_event(ts=datetime.now(UTC).isoformat(), path=path, visitor_id="visitor-secret-1")
    with django_capture_on_commit_callbacks(execute=True):
        events_store(batches=[AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), [event], {"country": "FR"})])


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    """Streams of a second: each test reads its stream to the end, which closes it as a server does."""
    monkeypatch.setattr(dashboard, "LIVE_STREAM_SECONDS", 1.0)


@contextmanager
def opened(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    try:
        assert next(chunks).decode() == "retry: 1000\n\n"
        assert next(chunks).decode() == ": alive\n\n"  # subscribed
        yield chunks
    finally:
        assert all(chunk == b": alive\n\n" for chunk in chunks)  # to its end


def test_a_member_follows_the_events_as_they_are_stored_with_nothing_identifying(
    tenant_a, django_capture_on_commit_callbacks
):
    url = f"/properties/{tenant_a.property.public_id}/realtime/events"
    with opened(session_client_for(tenant_a.viewer), url) as chunks:
        stored(tenant_a, "/pricing", django_capture_on_commit_callbacks)
        message = next(chunks).decode()
    assert message.startswith("data: ") and message.endswith("\n\n")
    (event,) = json.loads(message.removeprefix("data: "))
    assert set(event) == {"ts", "type", "path", "source", "country", "device"}
    assert (event["type"], event["path"], event["country"]) == ("pageview", "/pricing", "FR")
    assert "visitor-secret-1" not in message


def test_a_shared_link_follows_too_and_others_see_nothing(
    client, tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    _, token = shared_link_create(property=tenant_a.property, name="wall")
    with opened(client, f"/share/{token}/realtime/events") as chunks:
        stored(tenant_a, "/docs", django_capture_on_commit_callbacks)
        assert json.loads(next(chunks).decode().removeprefix("data: "))[0]["path"] == "/docs"
    path = f"/properties/{tenant_a.property.public_id}/realtime/events"
    assert session_client_for(tenant_b.owner).get(path).status_code == 404
    assert client.get(path).status_code == 302  # to sign in


def test_beyond_its_streams_a_process_asks_the_browser_to_come_back_later(tenant_a, settings):
    settings.CLICKMETER_LIVE_STREAMS_PER_PROCESS = 1
    client = session_client_for(tenant_a.viewer)
    url = f"/properties/{tenant_a.property.public_id}/realtime/events"
    with opened(client, url):
        busy = client.get(url)
        assert b"".join(busy.streaming_content) == b"retry: 15000\n\n"
    with opened(client, url):  # the slot is free again
        pass


def test_the_realtime_page_follows_the_stream(tenant_a):
    page = session_client_for(tenant_a.viewer).get(f"/properties/{tenant_a.property.public_id}/realtime")
    html = page.content.decode()
    assert f'data-stream="/properties/{tenant_a.property.public_id}/realtime/events"' in html
    assert "clickmeter:live from:body" in html
