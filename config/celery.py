import logging.config
import os

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clickmeter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each task logs with its id and the request id of the request that queued it (apps/core/logs.py).
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def logging_from_settings(**kwargs):
    """Workers and beat log as the web does (settings.LOGGING: structured, redacted), in place of
    the handlers Celery would install."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
