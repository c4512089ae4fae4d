"""Copy a property's events from the database (PostgreSQL) into ClickHouse, day by day, before the
deployment switches CLICKMETER_EVENT_STORE to clickhouse.

Resumable: a day whose count ClickHouse already equals is skipped, and one cut off midway is
written again, the store skipping the event ids it holds. Verified: each day's count in ClickHouse
must equal the database's, or the command fails naming the day.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from apps.properties.models import Property
from apps.reports.stores.clickhouse import ClickHouseStore
from apps.reports.stores.database import DatabaseStore

ROWS_PER_WRITE = 50_000


class Command(BaseCommand):
    help = "Copy a property's raw events from the database into ClickHouse (CLICKHOUSE_URL); resumable, verified."

    def add_arguments(self, parser):
        parser.add_argument("property_id", help="the property's public id")

    def handle(self, *args, property_id, **options):
        prop = Property.unscoped.filter(public_id=property_id).first()
        if prop is None:
            raise CommandError(f"No property {property_id!r}.")
        source, target = DatabaseStore(), ClickHouseStore()
        target.schema_migrate()
        expected = source.events_per_day(property=prop)
        present = target.events_per_day(property=prop)
        with tqdm(total=sum(expected.values()), unit="event", unit_scale=True, file=self.stderr) as progress:
            for day in sorted(expected):
                if present.get(day) != expected[day]:
                    events = source.events(property=prop, day=day)
                    for start in range(0, len(events), ROWS_PER_WRITE):
                        with transaction.atomic():
                            target.write(events[start : start + ROWS_PER_WRITE])
                        progress.update(len(events[start : start + ROWS_PER_WRITE]))
                else:
                    progress.update(expected[day])
        copied = target.events_per_day(property=prop)
        wrong = [day for day in sorted(expected) if copied.get(day) != expected[day]]
        if wrong:
            raise CommandError(
                f"{len(wrong)} days differ, first {wrong[0]}: {copied.get(wrong[0], 0)} in ClickHouse,"
                f" {expected[wrong[0]]} in the database."
            )
        self.stdout.write(f"{sum(expected.values())} events of {len(expected)} days in ClickHouse, counts equal.")
