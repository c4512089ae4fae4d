import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.ingestion.models import DirtyDay, Event
from apps.properties.models import Property
from apps.reports.models import EventRollup, RollupGeneration, SessionRollup
from apps.reports.queries.rows import (
    EVENT_ROW_COLUMNS,
    SESSION_ROW_COLUMNS,
    raw_event_rows_sql,
    raw_session_rows_sql,
    vendor_sql,
    visits_sql,
)


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
        SessionRollup.objects.filter(property_id=property_id, day=day).delete()
        EventRollup.objects.filter(property_id=property_id, day=day).delete()
        of_day = "e.property_id = %s AND e.day = %s"
        event_grain = ", ".join(EVENT_ROW_COLUMNS[:-1])
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {SessionRollup._meta.db_table} (property_id, {', '.join(SESSION_ROW_COLUMNS)})"
                # In index order: a range's rows are then read page after page, not one page per row.
                f" SELECT %s, computed.* FROM ({raw_session_rows_sql(of_day)}) computed ORDER BY session_key",
                [property_id, property_id, day],
            )
            cursor.execute(
                f"INSERT INTO {EventRollup._meta.db_table} (property_id, {', '.join(EVENT_ROW_COLUMNS)})"
                f" SELECT %s, {event_grain}, SUM(events) FROM ({raw_event_rows_sql(of_day)}) computed"
                f" GROUP BY {event_grain}",
                [property_id, property_id, day],
            )
            events = Event._meta.db_table
            # Only the keys that changed are written: mostly those of the events stored since the last refresh.
            cursor.execute(
                f"UPDATE {events} SET visit_key = v.session_key"
                f" FROM ({visits_sql(of_day, ('id', 'session_key'))}) v WHERE {events}.id = v.id"
                f" AND {events}.visit_key {vendor_sql('IS DISTINCT FROM', 'IS NOT')} v.session_key",
                [property_id, day],
            )
        DirtyDay.objects.filter(property_id=property_id, day=day, token=mark).delete()
        rollup_generation_renew(property_id=property_id)
    return True


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
            events = Event.objects.filter(property=prop, day__lt=cutoff).delete()[0]
            others = sum(
                model.objects.filter(property=prop, day__lt=cutoff).delete()[0]
                for model in (SessionRollup, EventRollup, DirtyDay)
            )
            if events or others:
                rollup_generation_renew(property_id=prop.pk)
            deleted += events
    return deleted
