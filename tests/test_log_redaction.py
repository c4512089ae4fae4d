"""No log line carries an IP address or a secret (README, Privacy); tests/e2e/test_web_server.py
checks the real gunicorn's log."""

import io
import json
import logging

import pytest
import structlog
from gunicorn.config import Config

from config.log_redaction import RedactingFilter, redact
from config.logs import GunicornLogger, structured_formatter

SECRET = "AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Invalid request from ip=127.0.0.1: Invalid HTTP Version",
            "Invalid request from ip=[address]: Invalid HTTP Version",
        ),
        (f"Not Found: /share/sl_{SECRET}/panels/pages", "Not Found: /share/[redacted]/panels/pages"),
        ("Not Found: /share/sl_short", "Not Found: /share/[redacted]"),
        (f"/invitations/eyJpIjo1fQ:1t{SECRET}", "/invitations/[redacted]"),
        (
            f"/password-reset/MQ/c5n3xq-{SECRET} then /password-reset/sent",
            "/password-reset/[redacted] then /password-reset/sent",
        ),
        (f'"POST /v1/events?key=wk_{SECRET}&v=1 HTTP/1.1" 400', '"POST /v1/events?key=[redacted]&v=1 HTTP/1.1" 400'),
        (f"/v1/events?TOKEN=it_{SECRET}:1t:sig", "/v1/events?TOKEN=[redacted]"),
        (f"key rk_{SECRET} and token it_eyJwIjoxfQ:1tXyz:{SECRET}", "key rk_[redacted] and token it_[redacted]"),
        (
            "Error 111 connecting to 10.0.0.5:6379. Connection refused.",
            "Error 111 connecting to [address]:6379. Connection refused.",
        ),
        (
            'server at "::1", port 5432; [2001:db8::7]:80; fe80::1',
            'server at "[address]", port 5432; [[address]]:80; [address]',
        ),
        ("X-Forwarded-For: 203.0.113.7, 198.51.100.9", "X-Forwarded-For: [address], [address]"),
    ],
)
def test_addresses_and_secrets_are_redacted(line, expected):
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        '127 - - [04/Dec/2026:17:31:59 +0000] "GET /healthz HTTP/1.1" 200 16 at 12:34:56',
        "Starting gunicorn 27.0.1 with Django 5.2.19; submit_form, it_works, /password-reset/done",
    ],
)
def test_times_versions_and_ordinary_words_are_kept(line):
    assert redact(line) == line


def record(msg, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("django.request", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_the_filter_rewrites_the_message_and_the_traceback_and_drops_nothing():
    try:
        raise ValueError(f"peer 192.0.2.1 asked for /share/sl_{SECRET}")
    except ValueError as exc:
        entry = record(
            "Internal Server Error: %s", f"/share/sl_{SECRET}", exc_info=(ValueError, exc, exc.__traceback__)
        )
    assert RedactingFilter().filter(entry) is True
    line = logging.Formatter().format(entry)
    assert "Internal Server Error: /share/[redacted]" in line
    assert "ValueError: peer [address] asked for /share/[redacted]" in line
    assert SECRET not in line and "192.0.2.1" not in line


def reachable_handlers(logger: logging.Logger) -> list[logging.Handler]:
    """The handlers that write a record of `logger` somewhere (pytest's capturing ones aside)."""
    handlers = []
    while logger is not None:
        handlers += [
            h
            for h in logger.handlers
            if not isinstance(h, logging.NullHandler) and not type(h).__module__.startswith("_pytest")
        ]
        logger = logger.parent if logger.propagate else None
    return handlers


@pytest.mark.parametrize(
    "name", ["django.request", "django.server", "django.security.DisallowedHost", "apps.ingestion.services", "celery"]
)
def test_every_log_record_is_redacted_on_its_way_out(name):
    handlers = reachable_handlers(logging.getLogger(name))
    assert handlers, "a record reaches a handler (not Python's last resort, which nothing redacts)"
    try:
        raise ValueError(f"peer 192.0.2.1 asked for /share/sl_{SECRET}")
    except ValueError as exc:
        entry = logging.LogRecord(
            name, logging.ERROR, __file__, 1, "from %s", ("198.51.100.4",), (ValueError, exc, exc.__traceback__)
        )
    for handler in handlers:
        assert handler.filter(entry)
        line = handler.format(entry)
        assert "ValueError: peer [address] asked for /share/[redacted]" in line, line
        assert SECRET not in line and "192.0.2.1" not in line and "198.51.100.4" not in line, line


def test_structured_lines_are_redacted_in_their_context_and_tracebacks_too():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structured_formatter("json"))
    logger = logging.getLogger("tests.structured")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"token it_{SECRET}")
        except ValueError:
            structlog.get_logger("tests.structured").exception(
                "request_failed", request=f"GET /share/sl_{SECRET}", peers=["203.0.113.9"]
            )
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["event"] == "request_failed" and line["level"] == "error"
    assert line["request"] == "GET /share/[redacted]" and line["peers"] == ["[address]"]
    assert "ValueError: token it_[redacted]" in line["exception"]
    assert SECRET not in stream.getvalue()


@pytest.mark.parametrize("accesslog", [None, "-"])
def test_gunicorn_logs_are_redacted_and_structured_whatever_their_handlers(accesslog):
    config = Config()
    config.set("accesslog", accesslog)
    logger = GunicornLogger(config)
    logger.setup(config)  # as a configuration reload does: still one filter each
    for log in (logger.error_log, logger.access_log):
        assert sum(isinstance(f, RedactingFilter) for f in log.filters) == 1
        for handler in [handler for handler in log.handlers if getattr(handler, "_gunicorn", False)]:
            line = json.loads(handler.format(record("Invalid request from ip=192.0.2.1")))
            assert line["event"] == "Invalid request from ip=[address]", line
