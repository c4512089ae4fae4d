from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "apps.ingestion"
    label = "ingestion"

    def ready(self):
        from corsheaders.signals import check_request_enabled

        from apps.core.health import readiness_check_register
        from apps.ingestion.buffer import broker_readiness
        from apps.ingestion.cors import ingest_origin_allowed
        from apps.ingestion.storage import metrics_gauges_register

        readiness_check_register("broker", broker_readiness)
        metrics_gauges_register()
        check_request_enabled.connect(ingest_origin_allowed, dispatch_uid="ingestion.ingest_origin_allowed")
