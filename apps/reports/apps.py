from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self):
        from django.db.backends.signals import connection_created

        from apps.ingestion.signals import events_stored
        from apps.properties.hooks import SettingsSection, events_check_register, settings_section_register
        from apps.reports.queries.dialects import sqlite_functions_register
        from apps.reports.selectors import property_has_events
        from apps.reports.shared_links.views import shared_links_settings_context
        from apps.reports.tasks import rollup_refresh_schedule

        connection_created.connect(sqlite_functions_register, dispatch_uid="reports.sqlite_functions")
        events_stored.connect(rollup_refresh_schedule, dispatch_uid="reports.rollup_refresh_schedule")
        events_check_register(property_has_events)
        settings_section_register(SettingsSection("reports/_settings_shared_links.html", shared_links_settings_context))
