"""The ClickHouse store on a real server (Debian's clickhouse-server) holds and answers what the
database store does, for the same events: reports of every plan, the event-data table, the property
list's visitors, the first day, the events themselves; every event once, whatever is written twice
or at once; retention, a timezone change, the copy from the database. (test_engine_on_other_stores.py
holds every drawn query to the oracle.)"""

import io
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.imports.services import events_export, import_create, import_delete, import_run
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.privacy.services import subject_access, subject_erase
from apps.properties.models import Property
from apps.reports.periods import Period
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import IS, Condition, DateRange, Query, query_parse
from apps.reports.queries.vocabulary import DIMENSIONS, VISIT_PARTS
from apps.reports.services import events_reday
from apps.reports.stores import event_store
from apps.reports.stores.clickhouse import ClickHouseStore
from devtools.events import validated_event
from devtools.stack import BROWSER_USER_AGENT
from tests.reports.queries.histories import DAYS, FIRST_DAY, batches_of, fact
from tests.reports.test_rollup_equivalence import numbered

LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
EVERY_DAY = FIRST_DAY + timedelta(days=DAYS + 2)


def written(prop: Property, facts: list[dict]) -> None:
    events_store(batches=[replace(b, property_id=prop.pk) for b in batches_of(numbered(facts), prop.tzinfo)])


# Reports of every shape the engine plans: visit rows alone, events joined to visits, raw times,
# custom properties, a compared period.
QUERIES = [
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "views_per_visit"]},
    {"metrics": ["visitors", "bounce_rate"], "dimensions": ["visit:source", "time:day"]},
    {
        "metrics": ["pageviews", "events:click"],
        "dimensions": ["event:page"],
        "filters": [["is", "visit:device", ["mobile"]]],
    },
    {"metrics": ["visits", "visit_duration"], "dimensions": ["time:hour"], "include": {"time_labels": True}},
    {"metrics": ["events"], "dimensions": ["event:props:plan"], "filters": [["matches", "event:page", ["^/a"]]]},
    {
        "metrics": ["visitors"],
        "dimensions": ["visit:entry_page"],
        "include": {"compare": "previous_period", "totals": True},
    },
]


def reads(prop: Property) -> dict:
    """What the configured store answers about the property: reports, and its other reads."""
    store = event_store()
    days = [FIRST_DAY.isoformat(), LAST_DAY.isoformat()]
    reports = {
        f"report {n}": query_answer(property=prop, query=query_parse({**query, "date_range": days}))
        for n, query in enumerate(QUERIES)
    }
    period = Period(date_from=FIRST_DAY - timedelta(days=1), date_to=LAST_DAY + timedelta(days=1))
    visit_filter = Condition(IS, DIMENSIONS["visit:source"], ("Google", ""))
    event_filter = Condition(IS, DIMENSIONS["event:page"], ("/a",))
    parts = [
        Query(
            metrics=VISIT_PARTS,
            date_range=DateRange(first=FIRST_DAY, last=LAST_DAY),
            dimensions=dimensions,
            filters=filters,
        )
        for dimensions, filters in (((DIMENSIONS["visit:source"],), ()), ((), (event_filter,)))
    ]
    return {
        **reports,
        # The parts of the visit ratios a merge with imported totals reads (queries/imported.py).
        **{
            f"visit parts {n}": sorted(
                # A sum of no visits: NULL in SQL, 0 in ClickHouse; none to the merge.
                tuple(value if isinstance(value, str) else int(value or 0) for value in row)
                for row in store.rows(property=prop, query=query, first=FIRST_DAY, last=LAST_DAY)
            )
            for n, query in enumerate(parts)
        },
        "events": store.events(property=prop),
        **{
            f"events_page {equal} {after}": store.events_page(
                property=prop, since=since, until=until, equal=equal, after=after, limit=7
            )
            for since, until in [(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC))]
            for equal in ({}, {"type": "pageview", "path": "/a"})
            for after in (None, (datetime(2026, 3, 2, tzinfo=UTC), "ev9990"))
        },
        "first_day": store.first_day(property=prop),
        "visitors": store.visitors_by_day(periods={prop: period}),
        **{
            f"event_data {event_type} {filters}": store.event_data(
                property=prop, first=FIRST_DAY, last=LAST_DAY, event_type=event_type, filters=filters, limit=50
            )
            for event_type in ("pageview", "click")
            for filters in ((), (visit_filter,), (event_filter,))
        },
    }


@pytest.mark.django_db
@examples(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Sessions named by the events: a derived session id is new at each write.
@given(facts=st.lists(fact.map(lambda f: {**f, "session_id": f["session_id"] or "s0"}), min_size=1, max_size=30))
def test_the_clickhouse_store_answers_what_the_database_store_answers(tenant_a, clickhouse_server, facts):
    prop = tenant_a.property
    url = clickhouse_server.url("compared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "CLICKHOUSE_URL", url)
        patch.setattr(settings, "CLICKMETER_EVENT_STORE", "clickhouse")
        event_store().schema_migrate()
        try:
            written(prop, facts)
            on_clickhouse = reads(prop)
        finally:
            event_store().days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    with transaction.atomic():
        written(prop, facts)
        on_database = reads(prop)
        transaction.set_rollback(True)
    for name, expected in on_database.items():
        assert on_clickhouse[name] == expected, name


FEW = examples(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
histories = st.lists(fact.map(lambda f: {**f, "replayed": False}), min_size=20, max_size=30)


@pytest.mark.django_db(transaction=True)
@FEW
@given(facts=histories)
def test_a_batch_written_twice_and_by_two_writers_at_once_is_stored_once(tenant_a, clickhouse_store, facts):
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    batches = [replace(b, property_id=prop.pk) for b in batches_of(numbered(facts), prop.tzinfo)]
    barrier = threading.Barrier(2)
    failures = []

    def writer():
        try:
            barrier.wait()
            events_store(batches=batches)
        except Exception as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events_store(batches=batches)
    assert not failures
    ids = [e["event_id"] for e in clickhouse_store.events(property=prop)]
    assert sorted(ids) == sorted({f["event_id"] for f in numbered(facts)})


@pytest.mark.django_db
@FEW
@given(facts=histories)
def test_retention_deletes_the_days_before_the_cutoff_and_counts_them(tenant_a, clickhouse_store, facts):
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    written(prop, facts)
    before = clickhouse_store.events(property=prop)
    cutoff = FIRST_DAY + timedelta(days=1)
    deleted = clickhouse_store.days_delete_before(property_id=prop.pk, day=cutoff)
    after = clickhouse_store.events(property=prop)
    assert deleted == sum(1 for e in before if e["day"] < cutoff)
    assert after == [e for e in before if e["day"] >= cutoff]


@pytest.mark.django_db
@FEW
@given(facts=histories)
def test_a_timezone_change_moves_each_event_to_its_new_local_day(tenant_a, clickhouse_store, facts):
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    Property.unscoped.filter(pk=prop.pk).update(timezone="UTC")
    prop.refresh_from_db()
    written(prop, facts)
    before = clickhouse_store.events(property=prop)
    Property.unscoped.filter(pk=prop.pk).update(timezone="Asia/Kolkata")
    prop.refresh_from_db()
    events_reday(property=prop)
    after = {e["event_id"]: e for e in clickhouse_store.events(property=prop)}
    assert sorted(after) == sorted(e["event_id"] for e in before)
    for e in before:
        moved = after[e["event_id"]]
        assert moved["day"] == e["ts"].astimezone(prop.tzinfo).date()
        assert {**moved, "day": e["day"]} == e, "nothing but the day changes"
    assert clickhouse_store.first_day(property=prop) == min(e["day"] for e in after.values())


@pytest.mark.django_db
@examples(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(facts=histories)
def test_event_store_copy_moves_a_propertys_events_resumably_and_verifies_the_counts(
    tenant_a, clickhouse_server, settings, facts
):
    prop = tenant_a.property
    written(prop, facts)  # into the database, the store still in use
    database_events = event_store().events(property=prop)
    settings.CLICKHOUSE_URL = clickhouse_server.url(f"copy_{uuid.uuid4().hex[:12]}")
    clickhouse = ClickHouseStore()
    errors = io.StringIO()
    call_command("event_store_copy", prop.public_id, stdout=io.StringIO(), stderr=errors)
    assert clickhouse.events(property=prop) == database_events
    assert "100%|" in errors.getvalue(), "a progress bar, to its end"
    # Cut off after its first day, as a copy interrupted midway: run again, it completes, once.
    first_day = min(e["day"] for e in database_events)
    clickhouse.days_delete_before(property_id=prop.pk, day=first_day + timedelta(days=1))
    out = io.StringIO()
    call_command("event_store_copy", prop.public_id, stdout=out, stderr=io.StringIO())
    assert clickhouse.events(property=prop) == database_events
    assert "counts equal" in out.getvalue()


@pytest.mark.django_db
def test_ids_and_values_with_quotes_backslashes_and_control_characters_are_kept_and_matched(tenant_a, clickhouse_store):
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    odd = "it's a \\ back\nslash\t'; DROP TABLE x; --\x07\x00"
    path = "/o'k\\\n"
    ts = f"{FIRST_DAY.isoformat()}T12:00:00+00:00"
    events = [validated_event(ts=ts, event_id=odd, path=path), validated_event(ts=ts, path="/a")]
    batch = AcceptedBatch(prop.pk, 0, datetime.now(UTC), events, {"user_agent": BROWSER_USER_AGENT})
    events_store(batches=[batch])
    events_store(batches=[batch])
    stored = [(e["event_id"], e["path"]) for e in clickhouse_store.events(property=prop)]
    assert sorted(stored) == sorted([(odd, path), (events[1]["event_id"], "/a")]), "each stored once, as sent"
    day = FIRST_DAY.isoformat()
    query = query_parse({"metrics": ["events"], "date_range": [day, day], "filters": [["is", "event:page", [path]]]})
    assert query_answer(property=prop, query=query).rows == [{"dimensions": [], "metrics": [1]}]


@pytest.mark.django_db
@FEW
@given(facts=histories)
def test_an_import_is_written_and_deleted_whole(tenant_a, clickhouse_store, settings, tmp_path, facts):
    settings.MEDIA_ROOT = tmp_path
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    written(prop, facts)
    originals = clickhouse_store.events(property=prop)
    exported = b"".join(events_export(property=prop, first=FIRST_DAY - timedelta(days=1), last=EVERY_DAY, format="csv"))
    done = import_run(import_create(property=prop, source="clickmeter", file=ContentFile(exported, name="e.csv")))
    assert done.status == "done", done.error
    copies = [e for e in clickhouse_store.events(property=prop) if e["event_id"].startswith(done.event_id_prefix())]
    assert len(copies) == len(originals) == done.events
    import_delete(import_=done)
    assert clickhouse_store.events(property=prop) == originals


@pytest.mark.django_db
@FEW
# Every other event of visitor v1, the rest of v2.
@given(facts=histories.map(lambda facts: [{**f, "visitor_id": f"v{1 + n % 2}"} for n, f in enumerate(facts)]))
def test_a_person_is_handed_over_and_erased_on_clickhouse(tenant_a, clickhouse_store, facts):
    prop = tenant_a.property
    clickhouse_store.days_delete_before(property_id=prop.pk, day=EVERY_DAY)
    written(prop, facts)
    originals = clickhouse_store.events(property=prop)
    theirs = [e for e in originals if e["visitor_id"] == "v1"]
    assert theirs and len(theirs) < len(originals)
    held = subject_access(property=prop, field="visitor_id", value="v1", requested_by="test")
    assert sorted(e["event_id"] for e in held["events"]) == sorted(e["event_id"] for e in theirs)
    with transaction.atomic():  # the erasure's record taken back: it would drop the next example's v1
        erased = subject_erase(property=prop, field="visitor_id", value="v1", requested_by="test")
        assert erased.events == len(theirs)
        assert clickhouse_store.events(property=prop) == [e for e in originals if e["visitor_id"] != "v1"]
        assert clickhouse_store.subject_events(property=prop, field="visitor_id", value="v1") == []
        written(prop, facts)  # received before the erasure, drained after it: v1's are dropped
        assert clickhouse_store.events(property=prop) == [e for e in originals if e["visitor_id"] != "v1"]
        transaction.set_rollback(True)
