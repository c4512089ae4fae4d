"""Schemathesis over every operation of the published schema (`/v1/schema`), with real credentials.

Each operation gets schemathesis's coverage cases (boundaries, missing, duplicated and mistyped
parameters) and a bounded number of generated ones, positive and negative, sent to the Django
application in-process (WSGI) over the real PostgreSQL test database and Redis. In-process, each
request runs in a transaction rolled back after it (so every case starts from the same tenant and
a DELETE cannot eat the next case's property) and the run needs no server, ports or waits; the
lean ingest handler is part of the WSGI application, so /v1/events takes the production path.

Credentials take turns among the kinds each operation accepts: its read key, its write key (as
bearer, header or query) or an ingest token, the owner's JWT, and the owner's browser session with
its CSRF token; schemathesis's `ignored_auth` check also sends each case without and with bad
credentials. Path ids are the tenant's own two times in three, so requests reach the views.

Asserted for every answer: never a 5xx; a documented status code and content type; a body that
matches the documented schema; a request the schema forbids is refused (4xx); and a request the
schema allows is refused with a 400 only for a rule the schema can state only in words (listed in
STATED_IN_WORDS, each in the parameter's or operation's description).
"""

import itertools
import re
from collections import defaultdict
from collections.abc import Mapping

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.generation.meta import TestPhase
from schemathesis.openapi.checks import RejectedPositiveData

from apps.keys.selectors import api_key_resolve
from apps.keys.services import ingest_token_mint
from apps.properties.apis import TIMEZONES
from config.wsgi import application
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import jwt_for, session_client_for, tenant_create

# Generated cases per operation, besides its coverage cases; keeps the run near a minute on 2 cores.
MAX_EXAMPLES = 50
# Rules a request valid by the schema may still break, because they relate values to each other or
# to the clock, which OpenAPI 3.0 cannot express: (operation, field of the 400) -> the rule.
STATED_IN_WORDS = {
    ("GET /v1/properties/{property_id}/overview", "from"): "from ≤ to, at most MAX_DAYS days",
    ("GET /v1/properties/{property_id}/pages", "from"): "from ≤ to, at most MAX_DAYS days",
    ("GET /v1/properties/{property_id}/campaigns", "from"): "from ≤ to, at most MAX_DAYS days",
    ("GET /v1/properties/{property_id}/metrics", "from"): "from ≤ to, at most MAX_DAYS days",
    ("GET /v1/properties/{property_id}/events/export", "to"): "from ≤ to",
    ("GET /v1/properties/{property_id}/metrics", "metrics"): "session metrics group by time only",
    ("GET /v1/properties/{property_id}/metrics", "group_by"): "entry_page/exit_page group alone",
    ("GET /v1/properties/{property_id}/metrics", "interval"): "hour spans at most 31 days",
    ("POST /v1/properties/{property_id}/keys", "expires_at"): "in the future",
    ("POST /v1/properties", "domains"): "a hostname belongs to one property",
    ("PATCH /v1/properties/{property_id}", "domains"): "a hostname belongs to one property",
    # The query endpoints: a rule about a field's items is keyed by the field (docs/query.md).
    ("GET /v1/properties/{property_id}/events/query", "since"): "a time 1970..2999, not after until",
    ("GET /v1/properties/{property_id}/events/query", "until"): "a time 1970..2999, not before since",
    ("GET /v1/properties/{property_id}/events/query", "cursor"): "a next_cursor this endpoint gave",
    ("GET /v1/properties/{property_id}/sessions", "from"): "from ≤ to, at most MAX_DAYS days",
    ("GET /v1/properties/{property_id}/sessions", "filters"): "JSON filter shapes, nesting and the safe regex subset",
    ("GET /v1/properties/{property_id}/sessions", "cursor"): "a next_cursor this endpoint gave",
    ("POST /v1/properties/{property_id}/query", "date_range"): "last ≥ first, 1970..2999, at most 3660 days",
    ("POST /v1/properties/{property_id}/query", "dimensions"): "one time dimension; time:hour over ≤ 31 days",
    ("POST /v1/properties/{property_id}/query", "filters"): "filter shapes, nesting and the safe regex subset",
    ("POST /v1/properties/{property_id}/query", "order_by"): "a metric or dimension of the query",
    ("POST /v1/properties/{property_id}/query", "metrics"): "revenue metrics need the revenue goals of one currency",
    ("POST /v1/properties/{property_id}/query", "include"): "time_labels needs a time dimension; compare's range",
    ("POST /api/v2/query", "date_range"): "last ≥ first, 1970..2999, at most 3660 days",
    ("POST /api/v2/query", "metrics"): "percentage needs a dimension, conversion_rate a goal",
    ("POST /v1/properties/{property_id}/goals", "name"): "not blank, one goal of a name per property",
    ("POST /v1/properties/{property_id}/goals", "path_pattern"): "a pageview goal's, from /; none for an event goal",
    ("POST /v1/properties/{property_id}/goals", "event_type"): "an event goal's; none for a pageview goal",
    ("POST /v1/properties/{property_id}/goals", "properties"): "keys of 1 to 128 characters, event goals only",
    ("POST /v1/properties/{property_id}/funnels", "name"): "not blank, one funnel of a name per property",
    ("POST /v1/properties/{property_id}/funnels", "steps"): "a page step's path from /, in the safe pattern subset",
    ("POST /v1/properties/{property_id}/funnels/query", "steps"): "a page step's path from /; none with funnel_id",
    ("POST /v1/properties/{property_id}/funnels/query", "window_days"): "none with funnel_id",
    ("POST /v1/properties/{property_id}/funnels/query", "date_range"): "last ≥ first, 1970..2999, ≤ 3660 days",
    ("POST /v1/properties/{property_id}/funnels/query", "filters"): "filter shapes, nesting and the safe regex subset",
    ("POST /v1/properties/{property_id}/retention", "date_range"): "last ≥ first, 1970..2999, ≤ 3660 days, 366 periods",
    ("POST /v1/properties/{property_id}/retention", "filters"): "filter shapes, nesting and the safe regex subset",
    ("POST /v1/properties/{property_id}/journeys", "anchor"): "a page anchor's path from /, in the safe pattern subset",
    ("POST /v1/properties/{property_id}/journeys", "date_range"): "last ≥ first, 1970..2999, ≤ 3660 days",
    ("POST /v1/properties/{property_id}/journeys", "filters"): "filter shapes, nesting and the safe regex subset",
    ("POST /api/v2/query", "dimensions"): "one time dimension; time:hour over ≤ 31 days",
    ("POST /api/v2/query", "filters"): "filter shapes, nesting, modifiers and the safe regex subset",
    ("POST /api/v2/query", "order_by"): "a metric or dimension of the query",
    ("POST /api/v2/query", "include"): "time_labels needs a time dimension",
}

TIMEZONE_SAMPLE = {"UTC", "Europe/Paris", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati"}

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {
            "examples": {"enabled": False},
            "stateful": {"enabled": False},
            "coverage": {"generate-duplicate-query-parameters": True},
        },
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {"positive_data_acceptance": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi("/v1/schema", application, config=CONFIG)


def _rolled_back(app):
    """`app`, each request in a transaction rolled back after it."""

    def call(environ, start_response):
        with transaction.atomic():
            try:
                return list(app(environ, start_response))
            finally:
                transaction.set_rollback(True)

    return call


schema.app = _rolled_back(application)
WORLD = {}
TURNS = defaultdict(itertools.count)


@pytest.fixture
def world(db):
    """A tenant and every credential for it; requests share the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    tenant = tenant_create()
    read_key = api_key_resolve(secret=tenant.read_key, kind="read")
    WORLD.update(
        tenant=tenant,
        secrets={
            "<readKey>": tenant.read_key,
            "<writeKey>": tenant.write_key,
            "<ingestToken>": ingest_token_mint(
                api_key_id=read_key.id, property_public_id=tenant.property.public_id, expires_in=3600
            )[0],
            "<jwt>": jwt_for(tenant.owner),
            "<session>": session_client_for(tenant.owner).cookies[settings.SESSION_COOKIE_NAME].value,
            "<csrf>": _get_new_csrf_string(),
        },
    )
    yield WORLD
    WORLD.clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.auth(refresh_interval=None)
class Credentials:
    """Each case's credential, in turn among the operation's kinds, as a placeholder: cases are made
    when tests are collected, before any tenant exists; the test fills in the tenant's secrets."""

    def get(self, case, ctx):
        kinds = [next(iter(requirement)) for requirement in case.operation.definition.raw.get("security", [])]
        kinds = [kind for kind in kinds if kind]
        return kinds[next(TURNS[case.operation.label]) % len(kinds)] if kinds else None

    def set(self, case, kind, ctx):
        if kind in ("readKey", "writeKey", "jwt"):
            case.headers["Authorization"] = f"Bearer <{kind}>"
        elif kind == "writeKeyHeader":
            case.headers["X-Write-Key"] = "<writeKey>"
        elif kind == "writeKeyQuery":
            case.query["key"] = "<writeKey>"
        elif kind == "ingestTokenQuery":
            case.query["token"] = "<ingestToken>"
        elif kind == "session":
            case.headers["X-CSRFToken"] = "<csrf>"
            case.cookies[settings.SESSION_COOKIE_NAME] = "<session>"
            case.cookies[settings.CSRF_COOKIE_NAME] = "<csrf>"


def _filled(values, secrets: dict):
    if not isinstance(values, Mapping):
        return values
    filled = {}
    for name, value in values.items():
        if isinstance(value, str):
            for placeholder, secret in secrets.items():
                value = value.replace(placeholder, secret)
        filled[name] = value
    return filled


def _pointer_field(message: str) -> str | None:
    """The field a Plausible-shaped error names by the JSON pointer its message starts with."""
    match = re.match(r"#/([^:\s]+): ", message)
    return match.group(1).replace("/", ".") if match else None


def _root(field: str | None) -> str | None:
    """The top-level field of a path like `filters[0][2]`, `include.compare` or `filters.0.2`."""
    return re.split(r"[.\[]", field)[0] if field else None


@schemathesis.check
def refused_only_for_a_stated_rule(ctx, response, case):
    """A request the schema allows is never a 400, but for a rule of STATED_IN_WORDS."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    error = response.json()["error"]
    field = error.get("field") if isinstance(error, dict) else _pointer_field(error)
    if (case.operation.label, field) not in STATED_IN_WORDS and (
        case.operation.label,
        _root(field),
    ) not in STATED_IN_WORDS:
        raise RejectedPositiveData(
            operation=case.operation.label,
            message=f"A request the schema allows was refused: {response.text}",
            status_code=400,
            allowed_statuses=["2xx", "401", "403", "404", "409", "429"],
        )
    return None


def _one_of_many_timezones(case) -> bool:
    """Whether this is a coverage case for one more IANA timezone name: the coverage phase makes one
    per enum value (~600 per operation taking a timezone, half the run's time); a few stand for all
    (tests/test_openapi.py checks the enum is zoneinfo's)."""
    timezone = case.body.get("timezone") if isinstance(case.body, dict) else None
    return (
        case.meta is not None
        and case.meta.phase.name == TestPhase.COVERAGE
        and timezone in TIMEZONES
        and timezone not in TIMEZONE_SAMPLE
    )


@schema.parametrize()
@hypothesis_settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case, world):
    if _one_of_many_timezones(case):
        return
    tenant = world["tenant"]
    ids = {"property_id": tenant.property.public_id, "organization_id": tenant.organization.public_id}
    if next(TURNS["ids " + case.operation.label]) % 3:
        case.path_parameters = {**case.path_parameters, **{k: v for k, v in ids.items() if k in case.path_parameters}}
    case.headers = {**_filled(case.headers or {}, world["secrets"]), "User-Agent": BROWSER_USER_AGENT}
    case.cookies = _filled(case.cookies, world["secrets"])
    case.query = _filled(case.query, world["secrets"])
    # call_and_validate raises on any failed check (the default ones and this module's); a 5xx among them.
    response = case.call_and_validate()
    assert response.status_code < 500, response.text
