import secrets
from datetime import date, timedelta
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.ingestion.models import DirtyDay
from apps.ingestion.storage import days_mark_dirty
from apps.properties.models import Property
from apps.reports.models import ImportedDay, RollupGeneration
from apps.reports.queries.imported import Counts
from apps.reports.stores import event_store


def rollup_refresh_day(*, property_id: int, day: date) -> bool:
    """Recompute one day's rollup and its events' visit keys (Event.visit_key) from raw events and
    clear its dirty mark.

    Return False if another refresh holds the day. The dirty row is locked for the duration, so
    an insert for the day waits and marks it dirty again after this commit.
    """
    with transaction.atomic():
        mark = (
            DirtyDay.objects.select_for_update(skip_locked=True)
            .filter(property_id=property_id, day=day)
            .values_list("token", flat=True)
            .first()
        )
        if mark is None:
            return False
        event_store().day_refresh(property_id=property_id, day=day)
        DirtyDay.objects.filter(property_id=property_id, day=day, token=mark).delete()
        rollup_generation_renew(property_id=property_id)
    return True


def imported_days_write(*, property_id: int, import_id: int, totals: dict[tuple[str, date, str], Counts]) -> None:
    """Keep an import's daily totals (models.ImportedDay), all of them or, on an error, none."""
    rows = (
        ImportedDay(
            property_id=property_id, import_id=import_id, dimension=dimension, day=day, value=value, **vars(counts)
        )
        for (dimension, day, value), counts in totals.items()
    )
    with transaction.atomic():
        while block := list(islice(rows, 5_000)):
            ImportedDay.objects.bulk_create(block)
        rollup_generation_renew(property_id=property_id)


def imported_days_delete(*, property_id: int, import_id: int) -> None:
    """Delete an import's daily totals; reports of the property are computed again."""
    if ImportedDay.objects.filter(import_id=import_id).delete()[0]:
        rollup_generation_renew(property_id=property_id)


def rollup_generation_renew(*, property_id: int) -> None:
    """Give the property's rollups a new generation token: cached reports of its data are not read again."""
    RollupGeneration.objects.update_or_create(property_id=property_id, defaults={"token": secrets.randbits(63)})


def rollup_refresh_dirty_days(*, quiet_seconds: int | None = None, limit: int = 1000) -> int:
    """Refresh the rollups of up to `limit` settled dirty days, oldest first; return how many.

    A day is settled when no event has been stored for it for `quiet_seconds` (default
    CLICKMETER_ROLLUP_QUIET_SECONDS) or it has been dirty for CLICKMETER_ROLLUP_MAX_STALENESS_SECONDS.
    Recomputing a day that is still receiving events would be redone at once; reports read its raw
    events meanwhile, so waiting costs nothing in correctness.
    """
    if quiet_seconds is None:
        quiet_seconds = settings.CLICKMETER_ROLLUP_QUIET_SECONDS
    now = timezone.now()
    settled = Q(marked_at__lte=now - timedelta(seconds=quiet_seconds)) | Q(
        first_marked_at__lte=now - timedelta(seconds=settings.CLICKMETER_ROLLUP_MAX_STALENESS_SECONDS)
    )
    dirty = DirtyDay.objects.filter(settled).order_by("first_marked_at").values_list("property_id", "day")[:limit]
    return sum(rollup_refresh_day(property_id=property_id, day=day) for property_id, day in dirty)


def retention_enforce(*, today: date | None = None) -> int:
    """Delete each property's raw events, rollups and dirty marks older than its retention.

    Days are the property's own; `today` defaults to the current UTC date. Return the number of
    raw events deleted.
    """
    today = today or timezone.now().date()
    deleted = 0
    for prop in Property.unscoped.only("pk", "retention_days"):
        cutoff = today - timedelta(days=prop.retention_days)
        with transaction.atomic():
            events = event_store().days_delete_before(property_id=prop.pk, day=cutoff)
            others = DirtyDay.objects.filter(property=prop, day__lt=cutoff).delete()[0]
            if events or others:
                rollup_generation_renew(property_id=prop.pk)
            deleted += events
    return deleted


def events_reday(*, property: Property) -> None:
    """Recompute the property-local `day` of a property's events after a timezone change.

    Every day that had or now has events is marked dirty, so reports read raw events for them at
    once and the rollup refresh rebuilds them in the new days.
    """
    with transaction.atomic():
        days = event_store().events_reday(property=property)
        days_mark_dirty([(property.pk, day) for day in sorted(days)], now=timezone.now())
