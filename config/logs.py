"""Structured logs: one JSON object per line (or coloured key=value lines in development), each
carrying the request id of the request it belongs to.

Every record, Django's and the libraries' as well as our own, is rendered by one formatter whose
processors add the bound context (`request_id`, and in a worker `task_id` and the request id of the
request that queued the task, django-structlog's receivers), the level, the logger and a UTC time,
and redact every value (config/log_redaction.py) just before rendering, tracebacks included.
"""

import os
from typing import Any

import orjson
import structlog
from gunicorn import glogging

from config.log_redaction import RedactingFilter, redacted_event

FORMATS = ("json", "console")

_CONTEXT = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
)


def logging_config(*, level: str, format: str) -> dict[str, Any]:
    """settings.LOGGING for one console handler rendering `format`, and structlog set up to match."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_CONTEXT,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": structured_formatter, "format": format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"level": "INFO"},
            # Each request is logged once by apps.core.logs; Django's own lines for 4xx answers
            # would repeat it. Its 5xx lines, with the traceback, stay.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "WARNING", "propagate": True},
            "celery.app.trace": {"level": "WARNING"},
        },
    }


def structured_formatter(format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every log line, ours or a library's: context added, redacted, rendered."""
    if format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {format!r}")
    renderer = (
        structlog.processors.JSONRenderer(serializer=_json_text)
        if format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=list(_CONTEXT),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redacted_event,
            renderer,
        ],
    )


def _json_text(event: Any, **kwargs: Any) -> str:
    # orjson: a third of the standard library's time per line; what it cannot encode, as its repr.
    return orjson.dumps(event, default=repr).decode()


class GunicornLogger(glogging.Logger):
    """gunicorn's logger: its error and access logs redacted, its own lines rendered as ours.

    The filter sits on the loggers themselves, not on handlers, so that it holds for the console,
    log files, syslog and any `logconfig` alike. gunicorn starts before Django's settings are read:
    `LOG_FORMAT` comes from the environment, JSON unless set.
    """

    def setup(self, cfg):
        super().setup(cfg)
        formatter = structured_formatter(os.environ.get("LOG_FORMAT", "json"))
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactingFilter) for existing in log.filters):
                log.addFilter(RedactingFilter())
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(formatter)
