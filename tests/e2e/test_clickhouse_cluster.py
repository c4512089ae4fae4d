"""The ClickHouse store on a cluster of two shards (two clickhouse-server processes on loopback),
behind the real stack: events of two properties go through gunicorn, Redis and a Celery worker
into the Distributed table, each property's events land whole on one shard, and the reports of
each equal what was sent."""

import uuid
from datetime import UTC, datetime

import pytest

from apps.reports.stores import event_store
from apps.reports.stores.clickhouse.client import client_connect
from devtools.stack import Stack, wait_until
from tests.conftest import tenant_create
from tests.e2e.test_pipeline import database_url, envelope

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_events_of_two_properties_are_sharded_by_property_and_reported_whole(
    tmp_path, transactional_db, clickhouse_shards, settings
):
    database = f"cluster_{uuid.uuid4().hex[:12]}"
    store = {
        "CLICKMETER_EVENT_STORE": "clickhouse",
        "CLICKHOUSE_URL": clickhouse_shards[0].url(database),
        "CLICKHOUSE_CLUSTER": "clickmeter",
    }
    for name, value in store.items():
        setattr(settings, name, value)
    event_store().schema_migrate()
    tenants = [tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=0) for _ in range(2)]
    stack = Stack(tmp_path, database_url(), **store)
    try:
        stack.start()
        sent = [0, 0]
        for n, tenant in enumerate(tenants):
            for _ in range(n + 2):
                status, _, body = stack.ingest(tenant.write_key, envelope(tenant, 40))
                assert status == 202, body
                sent[n] += body["accepted"]
        today = datetime.now(UTC).date().isoformat()
        for tenant, count in zip(tenants, sent, strict=True):
            path = f"/v1/properties/{tenant.property.public_id}/overview?from={today}&to={today}"

            def pageviews(path=path, count=count, tenant=tenant):
                status, body = stack.get(path, tenant.read_key)
                assert status == 200, body
                return body["pageviews"] == count and body

            body = wait_until(pageviews, timeout=60, message=f"{count} pageviews\n{stack.logs()}")
            assert body["unique_visitors"] == 11
        held = [
            dict(
                client_connect(shard.url(database)).execute(
                    f"SELECT property_id, count() FROM {database}.events_local GROUP BY property_id"  # noqa: S608
                )
            )
            for shard in clickhouse_shards
        ]
        assert all(len(on_shard) == 1 for on_shard in held), f"one property per shard: {held}"
        assert {**held[0], **held[1]} == {
            tenant.property.pk: count for tenant, count in zip(tenants, sent, strict=True)
        }
    finally:
        stack.stop()
