"""A new property from the product: the form an organisation's admins reach from the property list,
the beacon snippet with a write key shown once, and the wait for the first event, which turns into
the dashboard when an event is stored."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client

from apps.ingestion.storage import ingest_buffer_drain
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_resolve
from apps.properties.models import Property
from apps.properties.services import property_update
from apps.reports.periods import property_today
from config.celery import app
from tests.accounts.test_views import assert_accessible_page
from tests.conftest import session_client_for
from tests.reports.test_views_dashboard import seed

pytestmark = pytest.mark.django_db

MISSING_ORGANIZATION = "org_doesnotexist00000"
MISSING_PROPERTY = "prop_doesnotexist0000"


def new_path(organization_id: str) -> str:
    return f"/organizations/{organization_id}/properties/new"


def waiting_path(property_id: str) -> str:
    return f"/properties/{property_id}/waiting"


def poll_path(property_id: str) -> str:
    return f"/properties/{property_id}/first-event"


def create(user, organization, **fields):
    data = {"domain": "shop.example", "name": "", "timezone": "Europe/Paris", "allowed_origins": ""} | fields
    return session_client_for(user).post(new_path(organization.public_id), data)


def shown(html: str, element_id: str) -> str:
    return re.search(rf'<code id="{element_id}" class="secret">([^<]+)</code>', html).group(1)


@pytest.fixture
def tasks_queued_not_run():
    """The ingest view queues its drain instead of running it: an accepted event is not stored yet."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


# --- Reaching the form ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_admins_find_the_form_on_the_property_list(tenant_a, role):
    html = session_client_for(tenant_a.member(role)).get("/").content.decode()
    assert f'href="{new_path(tenant_a.organization.public_id)}"' in html


def test_viewers_are_not_offered_the_form(tenant_a):
    html = session_client_for(tenant_a.viewer).get("/").content.decode()
    assert "/properties/new" not in html


def test_an_organisation_without_properties_offers_to_add_one_where_it_said_no_properties_yet(tenant_a):
    empty = tenant_a.organization.__class__.objects.create(name="Empty Org", slug="empty-org")
    tenant_a.admin.memberships.create(organization=empty, role="admin")
    html = session_client_for(tenant_a.admin).get("/").content.decode()
    section = html[html.index("Empty Org") :]
    assert re.search(
        rf'No properties yet\. <a class="button" href="{new_path(empty.public_id)}">Add a property', section
    )


def test_the_form_renders_accessibly_with_the_timezone_from_a_list_preset_by_the_browser(tenant_a):
    response = session_client_for(tenant_a.admin).get(new_path(tenant_a.organization.public_id))
    assert response.status_code == 200
    html = assert_accessible_page(response, "New property")
    assert "data-timezone-from-browser" in html and "js/property_new.js" in html
    assert '<option value="UTC" selected>UTC</option>' in html
    assert '<option value="America/New_York">America/New York</option>' in html
    assert tenant_a.organization.name in html
    assert "<script>" not in html, "no inline script"


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a):
    for path in (new_path(tenant_a.organization.public_id), waiting_path(tenant_a.property.public_id)):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, f"/login?next={path}")


def test_a_viewer_can_neither_open_nor_post_the_form(tenant_a):
    assert session_client_for(tenant_a.viewer).get(new_path(tenant_a.organization.public_id)).status_code == 403
    assert create(tenant_a.viewer, tenant_a.organization).status_code == 403
    assert not Property.unscoped.filter(name="shop.example").exists()


def test_another_organisation_is_a_404_like_a_missing_one_and_gets_no_property(tenant_a, tenant_b):
    client = session_client_for(tenant_a.owner)
    for method in ("get", "post"):
        theirs = getattr(client, method)(new_path(tenant_b.organization.public_id), {"domain": "x.example"})
        missing = getattr(client, method)(new_path(MISSING_ORGANIZATION), {"domain": "x.example"})
        assert theirs.status_code == missing.status_code == 404
    assert list(Property.unscoped.filter(organization=tenant_b.organization)) == [tenant_b.property]


def test_the_form_needs_the_csrf_token(tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.admin, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(new_path(tenant_a.organization.public_id), {"domain": "shop.example"}).status_code == 403
    assert not Property.unscoped.filter(name="shop.example").exists()


# --- Creating ---------------------------------------------------------------------------------


def test_a_new_property_shows_its_snippet_with_a_write_key_and_its_read_key_once(tenant_a):
    response = create(tenant_a.admin, tenant_a.organization, domain="Shop.Example")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    html = assert_accessible_page(response, "Install the beacon on Shop.Example")
    prop = Property.unscoped.get(organization=tenant_a.organization, name="Shop.Example")
    assert (prop.domains, prop.allowed_origins, prop.timezone) == (
        ["shop.example"],
        ["https://shop.example"],
        "Europe/Paris",
    )
    write_key, read_key = shown(html, "new-secret"), shown(html, "new-read-key")
    assert f'data-property="{prop.public_id}" data-key="{write_key}"' in html
    assert api_key_resolve(secret=write_key, kind=ApiKey.Kind.WRITE).property_id == prop.pk
    assert api_key_resolve(secret=read_key, kind=ApiKey.Kind.READ).property_id == prop.pk
    again = session_client_for(tenant_a.admin).get(waiting_path(prop.public_id)).content.decode()
    assert write_key not in again and read_key not in again
    assert 'data-key="wk_…"' in again


def test_name_and_origins_given_are_kept(tenant_a):
    create(
        tenant_a.owner,
        tenant_a.organization,
        name="The shop",
        allowed_origins="https://shop.example\r\nhttps://*.shop.example\r\n",
    )
    prop = Property.unscoped.get(name="The shop")
    assert prop.allowed_origins == ["https://*.shop.example", "https://shop.example"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"domain": ""}, "domain", "This field is required."),
        ({"domain": "https://shop.example/"}, "domain", "is not a domain like example.com"),
        ({"allowed_origins": "https://ok.example\nshop.example"}, "allowed_origins", "is not an origin like"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Select a valid choice"),
        ({"name": "x" * 201}, "name", "at most 200 characters"),
    ],
)
def test_bad_input_is_a_form_error_that_keeps_what_was_typed_and_creates_nothing(tenant_a, fields, field, message):
    response = create(tenant_a.admin, tenant_a.organization, **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>[^<]*{re.escape(message)}', html), html
    assert "data-timezone-from-browser" not in html, "the zone the user chose stays chosen"
    assert list(Property.unscoped.filter(organization=tenant_a.organization)) == [tenant_a.property]


def test_a_domain_another_organisation_has_is_an_error_on_the_domain(tenant_a, tenant_b):
    property_update(property=tenant_b.property, domains=["shop.example"])
    response = create(tenant_a.admin, tenant_a.organization, domain="SHOP.example")
    assert response.status_code == 400
    assert re.search(
        r'<ul class="errorlist" id="id_domain_error"><li>shop.example is already the domain of another property.',
        response.content.decode(),
    )
    assert list(Property.unscoped.filter(organization=tenant_a.organization)) == [tenant_a.property]


# --- Waiting for the first event --------------------------------------------------------------


def test_the_wait_turns_into_the_dashboard_when_the_first_event_is_stored(client, tenant_a, tasks_queued_not_run):
    html = create(tenant_a.admin, tenant_a.organization).content.decode()
    prop = Property.unscoped.get(name="shop.example")
    browser = session_client_for(tenant_a.admin)
    assert f'hx-get="{poll_path(prop.public_id)}" hx-trigger="every 3s"' in html
    assert f'<a href="{waiting_path(prop.public_id)}">Check again</a>' in html
    assert browser.get(poll_path(prop.public_id)).status_code == 204

    envelope = {"property_id": prop.public_id, "events": [{"type": "pageview", "context": {"page": {"path": "/"}}}]}
    accepted = client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="text/plain",
        HTTP_AUTHORIZATION=f"Bearer {shown(html, 'new-secret')}",
        HTTP_ORIGIN="https://shop.example",
    )
    assert (accepted.status_code, accepted.json()["accepted"]) == (202, 1)
    assert browser.get(poll_path(prop.public_id)).status_code == 204, "accepted is not stored yet"
    assert browser.get(waiting_path(prop.public_id)).status_code == 200

    ingest_buffer_drain()
    arrived = browser.get(poll_path(prop.public_id))
    dashboard = f"/properties/{prop.public_id}/"
    assert (arrived.status_code, arrived["HX-Redirect"]) == (200, dashboard)
    assert f'<a href="{dashboard}">Open the dashboard</a>' in arrived.content.decode()
    checked_again = browser.get(waiting_path(prop.public_id))
    assert (checked_again.status_code, checked_again["Location"]) == (302, dashboard)


def test_viewers_wait_too_but_are_offered_no_key(tenant_a):
    response = session_client_for(tenant_a.viewer).get(waiting_path(tenant_a.property.public_id))
    assert response.status_code == 200
    html = assert_accessible_page(response, f"Install the beacon on {tenant_a.property.name}")
    assert "Ask an admin of the organisation for a write key." in html
    assert "snippet-key" not in html


def test_an_admin_creates_a_write_key_from_the_waiting_page_and_stays_there(tenant_a):
    client = session_client_for(tenant_a.admin)
    response = client.post(f"/properties/{tenant_a.property.public_id}/settings/snippet-key", {"then": "waiting"})
    assert response.status_code == 200
    html = response.content.decode()
    secret = shown(html, "new-secret")
    assert f'data-key="{secret}"' in html and "Waiting for the first event" in html
    assert api_key_resolve(secret=secret, kind=ApiKey.Kind.WRITE).property_id == tenant_a.property.pk


def test_another_organisations_wait_is_a_404_like_a_missing_one(tenant_a, tenant_b):
    client = session_client_for(tenant_a.owner)
    for path in (waiting_path, poll_path):
        theirs = client.get(path(tenant_b.property.public_id))
        missing = client.get(path(MISSING_PROPERTY))
        assert theirs.status_code == missing.status_code == 404
        assert theirs.content == missing.content


def test_waiting_pages_answer_only_reads(tenant_a):
    client = session_client_for(tenant_a.admin)
    for path in (waiting_path, poll_path):
        assert client.post(path(tenant_a.property.public_id)).status_code == 405


def test_a_dashboard_without_any_event_points_to_the_snippet_and_one_with_events_does_not(tenant_a):
    client = session_client_for(tenant_a.viewer)
    link = f'<a href="{waiting_path(tenant_a.property.public_id)}">Install the beacon</a>'
    assert link in client.get(f"/properties/{tenant_a.property.public_id}/").content.decode()
    seed(tenant_a.property, property_today(tenant_a.property) - timedelta(days=60), visitor="v1")
    assert link not in client.get(f"/properties/{tenant_a.property.public_id}/").content.decode()
