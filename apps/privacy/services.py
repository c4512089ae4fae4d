"""A person's rights over what a property holds on them: erasure and access (GDPR articles 17 and 15).

A person is named by one of their ids, `visitor_id` or `user_id_hash` (identity.SUBJECT_FIELDS).
Each request leaves an audit record (ingestion.models.SubjectRequest) that names them only by a
keyed hash.
"""

from datetime import datetime

from django.utils import timezone

from apps.core.api import ApplicationError
from apps.imports.formats import record_of_row
from apps.ingestion.identity import SUBJECT_FIELDS, subject_hash
from apps.ingestion.models import SubjectRequest
from apps.ingestion.schema import IDENTIFY
from apps.ingestion.storage import days_mark_dirty
from apps.properties.models import Property
from apps.reports.queries.vocabulary import prop_text
from apps.reports.services import rollup_refresh_day
from apps.reports.stores import event_store

# The longest id the event table keeps (Event.visitor_id, Event.user_id_hash).
MAX_ID_LENGTH = 128


def subject_erase(*, property: Property, field: str, value: str, requested_by: str) -> SubjectRequest:
    """Delete every event of the person whose `field` is `value` in the property, on whichever store
    keeps them, and rebuild the rollups of their days now, so that no table holds them and no cached
    report counts them; an event of theirs still in the buffer is dropped when it is drained."""
    _subject_check(field, value)
    # First the record, which the drain reads: from then on, nothing of theirs is stored.
    request = _recorded(SubjectRequest.Kind.ERASURE, property, field, value, requested_by)
    days = event_store().subject_delete(property_id=property.pk, field=field, value=value)
    # Marked dirty (a new data version for the report cache), then rebuilt at once.
    days_mark_dirty(sorted((property.pk, day) for day in days), now=timezone.now())
    for day in sorted(days):
        rollup_refresh_day(property_id=property.pk, day=day)
    request.events = sum(days.values())
    request.save(update_fields=["events"])
    return request


def subject_access(*, property: Property, field: str, value: str, requested_by: str) -> dict:
    """What the property holds on the person whose `field` is `value`: each of their events as the
    raw-event export writes it (docs/switching.md), the traits their identify events gave them (as
    `user:props` reads them), with when this was asked."""
    _subject_check(field, value)
    events = event_store().subject_events(property=property, field=field, value=value)
    request = _recorded(SubjectRequest.Kind.ACCESS, property, field, value, requested_by, events=len(events))
    return {
        "property_id": property.public_id,
        "subject": {field: value},
        "requested_at": _iso(request.requested_at),
        "traits": _traits(events),
        "events": [record_of_row(event) for event in events],
    }


def _traits(events: list[dict]) -> dict[str, str]:
    """Each trait's last value among the identify events, in arrival order (vocabulary.USER_PROPS_PREFIX)."""
    traits = {}
    identified = (event for event in events if event["type"] == IDENTIFY)
    for event in sorted(identified, key=lambda event: (event["ts"], event["arrival"], event["event_id"])):
        traits.update({key: text for key, value in event["data"].items() if (text := prop_text(value))})
    return traits


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _recorded(
    kind: str, property: Property, field: str, value: str, requested_by: str, *, events: int = 0
) -> SubjectRequest:
    """The audit record of a request about the person whose `field` is `value`."""
    subject = subject_hash(property_id=property.pk, field=field, value=value)
    return SubjectRequest.unscoped.create(
        property=property, kind=kind, subject_hash=subject, requested_by=requested_by, events=events
    )


def _subject_check(field: str, value: str) -> None:
    if field not in SUBJECT_FIELDS:
        raise ApplicationError("invalid_field", f"A person is named by {' or '.join(SUBJECT_FIELDS)}.", field=field)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise ApplicationError("invalid_field", f"An id is text of 1 to {MAX_ID_LENGTH} characters.", field=field)
