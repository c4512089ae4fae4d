"""Keys in Django admin: the secret is shown once, only its hash is stored, revoke is an action."""

import re

import pytest
from django.contrib.messages import get_messages

from apps.keys.models import ApiKey
from apps.keys.services import api_key_hash
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_adding_a_key_shows_its_secret_once_and_stores_only_the_hash(admin_client, tenant_a):
    response = admin_client.post(
        "/admin/keys/apikey/add/", {"property": tenant_a.property.pk, "kind": "write", "name": "site"}, follow=True
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    secret = re.search(r"wk_[A-Za-z0-9_-]{32}", " ".join(shown)).group(0)
    created = ApiKey.unscoped.get(name="site")
    assert created.key_hash == api_key_hash(secret)
    assert created.prefix == secret[:11]
    assert secret not in response.cookies.output()
    again = admin_client.get(f"/admin/keys/apikey/{created.pk}/change/")
    assert secret not in again.content.decode()
    assert not list(get_messages(again.wsgi_request))


def test_revoke_action_revokes_and_the_key_stops_working(admin_client, client, tenant_a):
    write_key = ApiKey.unscoped.get(property=tenant_a.property, kind="write")
    response = admin_client.post(
        "/admin/keys/apikey/", {"action": "revoke_selected", "_selected_action": [write_key.pk]}, follow=True
    )
    assert response.status_code == 200
    write_key.refresh_from_db()
    assert write_key.revoked_at is not None
    from apps.keys import selectors

    selectors._cache.clear()
    denied = client.post(
        "/v1/events", "{}", content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}"
    )
    assert denied.status_code == 401


def test_admin_lists_organisations_properties_and_keys(admin_client, tenant_a):
    for url in ("/admin/accounts/organization/", "/admin/properties/property/", "/admin/keys/apikey/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert tenant_a.property.public_id in admin_client.get("/admin/properties/property/").content.decode()


def test_changing_the_timezone_in_admin_re_days_the_events(admin_client, tenant_a):
    from datetime import UTC, date, datetime

    from apps.ingestion.models import Event
    from apps.ingestion.storage import AcceptedBatch, events_store
    from devtools.events import validated_event

    prop = tenant_a.property
    ts = datetime(2026, 3, 1, 20, 0, tzinfo=UTC).isoformat()
    events_store(batches=[AcceptedBatch(prop.pk, 0, datetime.now(UTC), [validated_event(ts=ts)])])
    response = admin_client.post(
        f"/admin/properties/property/{prop.pk}/change/",
        {
            "organization": prop.organization.pk,
            "name": "Renamed",
            "allowed_origins": "https://example.com",
            "timezone": "Asia/Tokyo",
            "retention_days": 400,
            "ingest_limit_per_key": 12000,
            "ingest_limit_per_address": 600,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    prop.refresh_from_db()
    assert (prop.name, prop.timezone) == ("Renamed", "Asia/Tokyo")
    assert Event.objects.get(property=prop).day == date(2026, 3, 2)
