"""NUL characters never reach the database: a 400 (JSON under /v1/, a page elsewhere) for a NUL in
any query, form or cookie parameter, a 404 for one in the path, on every kind of route — the
reporting API, the dashboard and its breakdowns, fragments and CSV files, shared links without
signing in, the admin, ingest's CORS preflight — where PostgreSQL refused it with a 500 before."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from apps.reports.periods import property_today
from apps.reports.selectors import FILTERABLE
from apps.reports.shared_links.services import shared_link_create
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import jwt_for, session_client_for
from tests.reports.test_views_dashboard import seed

pytestmark = pytest.mark.django_db

REPORT_PARAMETERS = ("from", "to", "limit", "metrics", "group_by", "interval", *FILTERABLE)
DASHBOARD_PAGES = (
    "",
    "breakdown/pages",
    "panels/countries",
    "export/pages.csv",
    "export/series.csv",
    "export/event-data.csv?event=signup",
    "export/realtime-pages.csv",
    "live",
    "realtime",
)


@pytest.fixture
def traffic(tenant_a):
    today = property_today(tenant_a.property)
    seed(tenant_a.property, today, visitor="v1", path="/pricing")
    seed(tenant_a.property, today - timedelta(days=1), visitor="v2", path="/")
    return tenant_a


def assert_json_error(response, status: int, field: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "field"} and error["message"]
    if field is not None:
        assert error == {**error, "code": "invalid_parameter", "field": field}
        assert "NUL" in error["message"]


def with_nul(page: str, parameter: str) -> str:
    return page + ("&" if "?" in page else "?") + f"{parameter}=%00"


@pytest.mark.parametrize("parameter", REPORT_PARAMETERS)
def test_a_nul_in_any_report_parameter_is_a_400_naming_it(traffic, client, parameter):
    response = client.get(
        f"/v1/properties/{traffic.property.public_id}/metrics?{parameter}=a%00b",
        HTTP_AUTHORIZATION=f"Bearer {traffic.read_key}",
    )
    assert_json_error(response, 400, parameter)


@pytest.mark.parametrize("report", ["overview", "pages", "campaigns"])
def test_a_nul_in_a_parameter_of_the_other_reports_is_a_400_too(traffic, client, report):
    response = client.get(
        f"/v1/properties/{traffic.property.public_id}/{report}?to=%00",
        HTTP_AUTHORIZATION=f"Bearer {jwt_for(traffic.viewer)}",
    )
    assert_json_error(response, 400, "to")


def test_a_nul_in_the_properties_filter_is_a_400(tenant_a, client):
    response = client.get("/v1/properties?organization=%00", HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_a.owner)}")
    assert_json_error(response, 400, "organization")


@pytest.mark.parametrize("path", ["/v1/properties/%00/overview", "/v1/organizations/org_%00", "/v1/properties/%00"])
def test_a_nul_in_an_api_path_is_a_404_like_any_missing_object(tenant_a, client, path):
    response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_a.owner)}")
    assert_json_error(response, 404)


def test_a_nul_in_ingests_cors_preflight_is_a_400_not_a_database_error(tenant_a, client):
    response = client.options(
        "/v1/events?property=%00", HTTP_ORIGIN="https://example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert_json_error(response, 400, "property")


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
@pytest.mark.parametrize("parameter", ["f_path", "from", "sources", "q"])
def test_a_nul_on_any_dashboard_page_is_a_400_page(traffic, page, parameter):
    client = session_client_for(traffic.viewer)
    response = client.get(with_nul(f"/properties/{traffic.property.public_id}/{page}", parameter))
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert "NUL character" in response.content.decode()


@pytest.mark.parametrize("page", DASHBOARD_PAGES)
def test_a_nul_on_a_shared_dashboard_is_a_400_page_without_signing_in(traffic, page):
    _, token = shared_link_create(property=traffic.property, name="Public")
    response = Client(headers={"user-agent": BROWSER_USER_AGENT}).get(
        with_nul(f"/share/{token}/{page}".rstrip("/"), "f_path")
    )
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_dashboard_path_is_a_404(traffic):
    response = session_client_for(traffic.viewer).get("/properties/prop_%00/")
    assert response.status_code == 404


@pytest.mark.parametrize("model", ["keys/apikey", "accounts/invitation", "accounts/membership", "reports/sharedlink"])
def test_a_nul_in_an_admin_search_box_is_a_400_page(tenant_a, model):
    response = session_client_for(tenant_a.owner).get(f"/admin/{model}/?q=%00")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_posted_form_is_a_400_page(tenant_a, client):
    response = client.post("/login", {"username": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_spelled_in_a_quoted_session_cookie_is_a_400(tenant_a):
    client = Client(
        headers={"user-agent": BROWSER_USER_AGENT, "cookie": f'{settings.SESSION_COOKIE_NAME}="abcdefgh\\000"'}
    )
    response = client.get("/")
    assert response.status_code == 400
    response = client.get(f"/v1/properties/{tenant_a.property.public_id}/overview")
    assert_json_error(response, 400, settings.SESSION_COOKIE_NAME)


def test_values_without_nul_pass_through_unchanged(traffic, client):
    response = client.get(
        f"/v1/properties/{traffic.property.public_id}/metrics?path=/pricing&hostname=%2500",
        HTTP_AUTHORIZATION=f"Bearer {traffic.read_key}",
    )
    assert response.status_code == 200, response.content
    page = session_client_for(traffic.viewer).get(f"/properties/{traffic.property.public_id}/?f_path=/pricing")
    assert page.status_code == 200
