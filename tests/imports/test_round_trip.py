"""Leaving and coming back: a property's raw events exported (NDJSON or CSV) and imported into a new
property are the same events, and every report of the two is the same, for drawn histories."""

import os
from dataclasses import replace

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from apps.imports.models import Import
from apps.imports.services import EXPORT_FORMATS, events_export, import_create, import_run
from apps.ingestion.storage import events_store
from apps.properties.models import Property
from apps.reports.periods import FIRST_DAY, LAST_DAY
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import InvalidQuery, query_parse
from apps.reports.services import rollup_refresh_dirty_days
from apps.reports.stores import event_store
from tests.factories import PropertyFactory
from tests.reports.queries.histories import TIMEZONES, batches_of, fact
from tests.reports.queries.test_engine_equals_oracle import queries
from tests.reports.test_rollup_equivalence import numbered

pytestmark = pytest.mark.django_db

# What an import keeps its own: the property, the id (after the import's prefix), and the session
# key of an event without a session, which is keyed by its id.
OWN = ("property_id", "event_id", "session_key")
EVER = (FIRST_DAY, LAST_DAY)


def without_own(row: dict) -> dict:
    return {name: value for name, value in row.items() if name not in OWN}


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def exported_then_imported(source_property: Property, target: Property, format: str) -> Import:
    exported = b"".join(events_export(property=source_property, first=EVER[0], last=EVER[1], format=format))
    file = ContentFile(exported, name=f"export.{format}")
    return import_run(import_create(property=target, source=Import.Source.CLICKMETER, file=file))


@given(
    timezone=st.sampled_from(TIMEZONES),
    facts=st.lists(fact, min_size=3, max_size=30),
    format=st.sampled_from(EXPORT_FORMATS),
    asked=st.lists(queries(), min_size=1, max_size=3),
)
@examples(
    max_examples=int(os.environ.get("TEST_ROUND_TRIP_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_an_export_imported_into_a_new_property_gives_the_same_events_and_reports(
    tenant_a, uploads, timezone, facts, format, asked
):
    store = event_store()
    with transaction.atomic():
        Property.unscoped.filter(pk=tenant_a.property.pk).update(timezone=timezone)
        source_property = Property.unscoped.get(pk=tenant_a.property.pk)
        target = PropertyFactory(organization=source_property.organization, timezone=timezone)
        batches = batches_of(numbered(facts), source_property.tzinfo)
        events_store(batches=[replace(batch, property_id=source_property.pk) for batch in batches])
        imported = exported_then_imported(source_property, target, format)
        assert imported.status == Import.Status.DONE, imported.error
        rollup_refresh_dirty_days(quiet_seconds=0)

        originals = store.events(property=source_property)
        copies = store.events(property=target)
        assert imported.events == len(originals)
        prefix = imported.event_id_prefix()
        assert sorted(row["event_id"] for row in copies) == sorted(prefix + row["event_id"] for row in originals)
        by_id = {row["event_id"].removeprefix(prefix): row for row in copies}
        for original in originals:
            copy = by_id[original["event_id"]]
            assert without_own(copy) == without_own(original)

        for request in asked:
            try:
                query = query_parse(request)
                expected = query_answer(property=source_property, query=query)
            except InvalidQuery:
                continue
            assert query_answer(property=target, query=query) == expected, request
        transaction.set_rollback(True)
