from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "apps.reports"
    label = "reports"

    def ready(self):
        from django.db.backends.signals import connection_created

        from apps.ingestion.hooks import events_write_register
        from apps.ingestion.signals import events_stored
        from apps.properties.hooks import SettingsSection, events_check_register, settings_section_register
        from apps.properties.signals import property_timezone_changed
        from apps.reports.funnels.views import funnels_settings_context
        from apps.reports.goals.views import goals_settings_context
        from apps.reports.selectors import property_has_events
        from apps.reports.services import events_reday
        from apps.reports.shared_links.views import shared_links_settings_context
        from apps.reports.stores import event_store
        from apps.reports.stores.database.dialects import sqlite_functions_register
        from apps.reports.tasks import rollup_refresh_schedule

        connection_created.connect(sqlite_functions_register, dispatch_uid="reports.sqlite_functions")
        events_stored.connect(rollup_refresh_schedule, dispatch_uid="reports.rollup_refresh_schedule")
        events_check_register(property_has_events)
        events_write_register(lambda rows: event_store().write(rows))
        property_timezone_changed.connect(
            lambda sender, property, **kwargs: events_reday(property=property),
            dispatch_uid="reports.events_reday",
            weak=False,
        )
        settings_section_register(SettingsSection("reports/_settings_goals.html", goals_settings_context))
        settings_section_register(SettingsSection("reports/_settings_funnels.html", funnels_settings_context))
        settings_section_register(SettingsSection("reports/_settings_shared_links.html", shared_links_settings_context))
