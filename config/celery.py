import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

from config.log_redaction import RedactingFilter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clickmeter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def logs_redacted(logger, **kwargs):
    """Redact the handlers Celery installs in place of settings.LOGGING's (no addresses, no secrets)."""
    for handler in logger.handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
