"""Create or upgrade the event store's schema where it lives outside the database (ClickHouse);
the Procfile's release step runs it after `migrate`, so a new deployment needs nothing by hand."""

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.reports.stores import event_store


class Command(BaseCommand):
    help = "Create or upgrade the event store's schema (CLICKMETER_EVENT_STORE); idempotent."

    def handle(self, *args, **options):
        event_store().schema_migrate()
        self.stdout.write(f"Event store {settings.CLICKMETER_EVENT_STORE!r}: schema up to date.")
