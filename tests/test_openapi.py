"""The OpenAPI schema at /v1/schema is valid, generated without warnings, and documents exactly the
API's routes and methods; the docs page at /v1/docs works without the internet."""

import re
import zoneinfo
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.validation import validate_schema

from apps.core.views import api_not_found
from apps.reports.selectors import FILTERABLE, GROUPABLE, INTERVALS, METRICS
from tests.conftest import url_patterns

pytestmark = pytest.mark.django_db

DOCUMENTATION_ROUTES = {"api-schema", "api-docs"}
NOT_OPERATIONS = {"options", "head"}
WRITE_KEY = [{"writeKey": []}, {"writeKeyHeader": []}, {"writeKeyQuery": []}, {"ingestTokenQuery": []}]
MEMBER = [{"jwt": []}, {"session": []}]


# Plausible's Stats API v2, served where Plausible serves it, with Plausible's error body.
PLAUSIBLE_ROUTES = ("api/v2/query",)


def api_endpoints() -> dict[str, set[str]]:
    """Every route under v1/ (and Plausible's), as an OpenAPI path, with the HTTP methods its view handles."""
    endpoints = {}
    for route, pattern in url_patterns():
        if (
            not (route.startswith("v1/") or route in PLAUSIBLE_ROUTES)
            or pattern.callback is api_not_found
            or pattern.name in DOCUMENTATION_ROUTES
        ):
            continue
        view = pattern.callback.view_class
        methods = {method for method in view.http_method_names if hasattr(view, method)} - NOT_OPERATIONS
        endpoints["/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = methods
    return endpoints


@pytest.fixture
def schema() -> dict:
    response = Client().get("/v1/schema")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    GENERATOR_STATS.reset()
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert "openapi: 3.0" in (tmp_path / "schema.yaml").read_text()


def test_the_schema_endpoint_serves_valid_openapi_3_json_to_anyone(schema):
    response = Client().get("/v1/schema")
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_documents_every_endpoint_with_exactly_its_methods(schema):
    endpoints = api_endpoints()
    assert "/v1/events" in endpoints and "/v1/properties/{property_id}/keys/{key_id}/rotate" in endpoints
    documented = {path: set(operations) - {"parameters"} for path, operations in schema["paths"].items()}
    assert documented == endpoints


def test_the_schema_names_the_credentials_of_each_endpoint(schema):
    schemes = schema["components"]["securitySchemes"]
    assert set(schemes) == {scheme for requirement in WRITE_KEY + MEMBER for scheme in requirement} | {"readKey"}
    assert (schemes["writeKeyHeader"]["name"], schemes["writeKeyQuery"]["name"]) == ("X-Write-Key", "key")
    assert schemes["jwt"] == {**schemes["jwt"], "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == settings.SESSION_COOKIE_NAME

    paths = schema["paths"]
    assert paths["/v1/events"]["post"]["security"] == WRITE_KEY
    assert paths["/v1/properties/{property_id}/overview"]["get"]["security"] == [{"readKey": []}, *MEMBER]
    assert paths["/v1/properties/{property_id}/query"]["post"]["security"] == [{"readKey": []}, *MEMBER]
    assert paths["/api/v2/query"]["post"]["security"] == [{"readKey": []}]
    assert paths["/v1/properties/{property_id}/ingest-tokens"]["post"]["security"] == [{"readKey": []}]
    assert paths["/v1/properties"]["post"]["security"] == MEMBER
    assert paths["/v1/properties/{property_id}/keys"]["get"]["security"] == MEMBER


def test_the_schema_documents_ingest_and_reports_as_they_work(schema):
    ingest = schema["paths"]["/v1/events"]["post"]
    assert set(ingest["requestBody"]["content"]) == {"application/json", "text/plain"}
    assert "202" in ingest["responses"] and "413" in ingest["responses"]
    envelope = schema["components"]["schemas"]["EnvelopeRequest"]
    assert set(envelope["required"]) == {"property_id", "events"}


@pytest.mark.parametrize("report", ["overview", "pages", "campaigns", "metrics"])
def test_each_report_documents_exactly_the_query_parameters_it_accepts(schema, report):
    view = resolve(f"/v1/properties/prop_x/{report}").func.view_class
    operation = schema["paths"][f"/v1/properties/{{property_id}}/{report}"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"] if parameter["in"] == "query"}
    assert set(parameters) == set(view.parameters)
    if report == "metrics":
        assert set(parameters) >= set(FILTERABLE)
        assert parameters["metrics"]["schema"]["items"]["enum"] == sorted(METRICS)
        assert set(parameters["group_by"]["schema"]["items"]["enum"]) == set(GROUPABLE)
        assert parameters["interval"]["schema"]["enum"] == sorted(INTERVALS)


def test_every_error_response_has_the_error_body(schema):
    for path, operations in schema["paths"].items():
        error = "PlausibleError" if path.lstrip("/") in PLAUSIBLE_ROUTES else "Error"
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if status.startswith(("4", "5")):
                    body = response["content"]["application/json"]["schema"]
                    assert body == {"$ref": f"#/components/schemas/{error}"}, (path, method, status)


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_docs_page_renders_with_local_assets_only():
    response = Client().get("/v1/docs")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not re.search(r"(?:https?:)?//[\w-]+\.[\w.-]+", html), "the page must not load anything from the internet"
    parser = _Assets()
    parser.feed(html)
    # Its start-up code is a script of its own (no inline code, for the CSP), which loads the schema.
    start_up = "/v1/docs?script="
    assert start_up in parser.urls
    script = Client().get(start_up)
    assert script.status_code == 200 and "/v1/schema" in script.content.decode()
    assert len(parser.urls) >= 5  # two stylesheets and three scripts
    for url in parser.urls:
        if url == start_up:
            continue
        assert url.startswith("/" + settings.STATIC_URL.lstrip("/")), url
        assert finders.find(url.removeprefix("/" + settings.STATIC_URL.lstrip("/"))), f"{url} is not a static file"


def _query_parameter(schema, path, name) -> dict:
    operation = schema["paths"][path]["get"]
    return next(p for p in operation["parameters"] if p["name"] == name and p["in"] == "query")["schema"]


def test_the_schema_states_the_rules_the_server_enforces(schema):
    components = schema["components"]["schemas"]
    events = components["EnvelopeRequest"]["properties"]["events"]
    assert (events["minItems"], events["maxItems"]) == (1, 500)
    metrics = "/v1/properties/{property_id}/metrics"
    assert _query_parameter(schema, metrics, "limit") == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "default": 50,
    }
    assert _query_parameter(schema, metrics, "metrics")["minItems"] == 1
    day = _query_parameter(schema, metrics, "from")
    assert day["format"] == "date" and re.fullmatch(day["pattern"], "2026-01-31")
    assert not re.fullmatch(day["pattern"], "1969-12-31") and not re.fullmatch(day["pattern"], "3000-01-01")
    for name in ("from", "metrics"):
        operation = schema["paths"][metrics]["get"]
        description = next(p for p in operation["parameters"] if p["name"] == name)["description"]
        assert {"from": "3660 days", "metrics": "never with `group_by`"}[name] in description
    timezones = components["TimezoneEnum"]["enum"]
    assert set(timezones) == zoneinfo.available_timezones()
    timezone = components["PropertiesInputRequest"]["properties"]["timezone"]
    assert timezone["allOf"] == [{"$ref": "#/components/schemas/TimezoneEnum"}]
    assert len(timezone["description"]) < 100


def test_the_schema_says_no_text_may_hold_a_nul_character(schema):
    country = _query_parameter(schema, "/v1/properties/{property_id}/metrics", "country")
    assert country["pattern"] == "^[^\\u0000]*$"
    assert re.fullmatch(country["pattern"], "GB") and not re.fullmatch(country["pattern"], "G\x00B")
    name = schema["components"]["schemas"]["OrganizationNameInputRequest"]["properties"]["name"]
    assert name["pattern"] == country["pattern"]
