"""Short-lived signed ingest tokens minted with a read key."""

import json
import time
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from apps.ingestion.models import Event
from apps.keys import selectors
from apps.keys.models import ApiKey
from apps.keys.services import api_key_revoke

pytestmark = pytest.mark.django_db


def mint(client, tenant, key=None, property_id=None, **body):
    return client.post(
        f"/v1/properties/{property_id or tenant.property.public_id}/ingest-tokens",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


def ingest(client, token, property_id, *, in_query=False):
    envelope = json.dumps({"property_id": property_id, "events": [{"type": "pageview"}]})
    if in_query:  # as navigator.sendBeacon sends it
        return client.post(f"/v1/events?token={token}", envelope, content_type="text/plain")
    return client.post("/v1/events", envelope, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_read_key_mints_a_token_that_ingests_by_header_and_by_query(client, tenant_a):
    response = mint(client, tenant_a, expires_in=600)
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("it_") and body["property_id"] == tenant_a.property.public_id
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(seconds=600))) < timedelta(seconds=5)
    assert ingest(client, body["token"], tenant_a.property.public_id).status_code == 202
    assert ingest(client, body["token"], tenant_a.property.public_id, in_query=True).status_code == 202
    assert Event.objects.filter(property=tenant_a.property).count() == 2


@pytest.mark.parametrize("expires_in", [0, 24 * 3600 + 1, "soon"])
def test_expiry_is_one_second_to_a_day(client, tenant_a, expires_in):
    response = mint(client, tenant_a, expires_in=expires_in)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "expires_in"


def test_only_a_read_key_of_the_property_mints(client, tenant_a, tenant_b):
    assert mint(client, tenant_a, key=tenant_a.write_key).status_code == 401
    assert mint(client, tenant_a, property_id=tenant_b.property.public_id).status_code == 404


def assert_refused(response, words: str):
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert words in response.json()["error"]["message"]


def test_a_tampered_token_is_refused(client, tenant_a):
    token = mint(client, tenant_a).json()["token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert_refused(ingest(client, tampered, tenant_a.property.public_id), "invalid")
    assert not Event.objects.exists()


def test_an_expired_token_is_refused(client, tenant_a):
    token = mint(client, tenant_a, expires_in=1).json()["token"]
    time.sleep(1.05)
    assert_refused(ingest(client, token, tenant_a.property.public_id), "expired")


def test_a_token_for_another_property_is_refused(client, tenant_a, tenant_b):
    token = mint(client, tenant_a).json()["token"]
    assert_refused(ingest(client, token, tenant_b.property.public_id), "another property")
    assert not Event.objects.exists()


def test_revoking_the_minting_key_revokes_its_tokens_within_a_second(client, tenant_a):
    token = mint(client, tenant_a).json()["token"]
    assert ingest(client, token, tenant_a.property.public_id).status_code == 202
    api_key_revoke(api_key=ApiKey.unscoped.get(property=tenant_a.property, kind="read"))
    time.sleep(selectors.CACHE_SECONDS + 0.05)
    assert_refused(ingest(client, token, tenant_a.property.public_id), "revoked")
