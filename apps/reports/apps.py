from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self):
        from apps.ingestion.signals import events_stored
        from apps.reports.tasks import rollup_refresh_schedule

        events_stored.connect(rollup_refresh_schedule, dispatch_uid="reports.rollup_refresh_schedule")
