"""No log line carries an IP address or a secret.

The README promises that no IP address is logged and that shared links, keys and tokens are kept
only as hashes, but request logs quote paths, query strings and peers: Django's "Not Found:
/share/sl_…", runserver's request lines, gunicorn's "Invalid request from ip=…" and access log, a
Redis or PostgreSQL error naming its server. Every record is rewritten by `redact` on its way out:
what Django, Celery and our code log through the structured formatter's last processor,
`redacted_event` (config/logs.py), gunicorn's error and access logs through `RedactingFilter` on
their loggers (config.logs.GunicornLogger), whatever handlers an operator configures for them.
"""

import ipaddress
import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sentry_sdk._types import Event

REDACTED = "[redacted]"
ADDRESS = "[address]"

# The secret segments of paths: a shared link's token, an invitation's, a password reset's.
_SECRET_PATH = re.compile(r"(/(?:share|invitations)/)[^/?#\s\"']+|(/password-reset/)[^/?#\s\"']+/[^/?#\s\"']+")
# Credentials in a query string: the beacon's `?key=`, an ingest token's `?token=`.
_SECRET_QUERY = re.compile(r"([?&;](?:key|token|password|secret)=)[^&;#\s\"']*", re.IGNORECASE)
# Keys, ingest tokens and shared-link tokens wherever else they appear, by their prefixes.
_SECRET_VALUE = re.compile(r"\b(wk|rk|it|sl)_[A-Za-z0-9_\-:.]{16,}")
# Candidates only: `ipaddress` decides, so that times ("17:31:59") and versions are left alone.
_IPV4_CANDIDATE = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def redact(text: str) -> str:
    """Return `text` with IP addresses and secrets (keys, tokens, shared-link paths) replaced."""
    text = _SECRET_PATH.sub(lambda m: (m.group(1) or m.group(2)) + REDACTED, text)
    text = _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, text)
    text = _SECRET_VALUE.sub(lambda m: f"{m.group(1)}_{REDACTED}", text)
    text = _IPV4_CANDIDATE.sub(_address, text)
    return _IPV6_CANDIDATE.sub(_address, text)


def _address(match: re.Match) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return ADDRESS


# What the log processors write themselves (config/logs.py, apps/core/logs.py), never a client's.
_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "request_id", "task_id", "parent_task_id"})


def redacted_event(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """A structlog processor: the event with every text in it redacted (message, traceback, context)."""
    return {name: value if name in _OWN_FIELDS else _redacted_everywhere(value) for name, value in event_dict.items()}


class RedactingFilter(logging.Filter):
    """Rewrite a record's message and traceback with `redact`; never drop a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def sentry_event_redacted(event: "Event", hint: dict[str, Any]) -> "Event":
    """A Sentry event (SENTRY_DSN, config/settings.py) as the logs are kept: every text in it through
    `redact`, and no client address, cookie or credential header at all."""
    request: dict[str, Any] = event.get("request") or {}
    request.pop("cookies", None)
    request.pop("env", None)  # REMOTE_ADDR, SERVER_NAME
    headers: dict[str, Any] = request.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "cookie", "x-forwarded-for", "x-real-ip", "x-write-key"):
            del headers[name]
    user = event.get("user")
    if isinstance(user, dict):
        user.pop("ip_address", None)
    redacted: Event = _redacted_everywhere(event)
    return redacted


def _redacted_everywhere(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted_everywhere(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted_everywhere(item) for item in value]
    return value
