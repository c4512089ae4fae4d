from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "apps.ingestion"
    label = "ingestion"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from apps.ingestion.cors import ingest_origin_allowed
        from apps.ingestion.services import events_reday
        from apps.properties.signals import property_timezone_changed

        check_request_enabled.connect(ingest_origin_allowed, dispatch_uid="ingestion.ingest_origin_allowed")
        property_timezone_changed.connect(
            lambda sender, property, **kwargs: events_reday(property=property),
            dispatch_uid="ingestion.events_reday",
            weak=False,
        )
