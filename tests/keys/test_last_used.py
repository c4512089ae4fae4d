"""A key records when it was last used, by ingest and by reports, writing at most once a minute."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.keys.models import ApiKey

pytestmark = pytest.mark.django_db


def test_ingest_and_reports_record_last_use_and_repeat_requests_write_nothing(client, tenant_a):
    write_key = ApiKey.unscoped.get(property=tenant_a.property, kind="write")
    read_key = ApiKey.unscoped.get(property=tenant_a.property, kind="read")
    assert write_key.last_used_at is None and read_key.last_used_at is None

    envelope = {"property_id": tenant_a.property.public_id, "events": [{"type": "pageview"}]}
    client.post(
        "/v1/events", json.dumps(envelope), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
    )  # fmt: skip
    report = f"/v1/properties/{tenant_a.property.public_id}/overview"
    client.get(report, HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}")
    write_key.refresh_from_db()
    read_key.refresh_from_db()
    assert write_key.last_used_at is not None and read_key.last_used_at is not None

    with CaptureQueriesContext(connection) as queries:
        client.get(report, HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}")
    assert not [query for query in queries if query["sql"].startswith("UPDATE")]
