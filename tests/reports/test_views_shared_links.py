"""Shared links: read-only public dashboards, optionally behind a password, revocable, exposing nothing else."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError

from apps.core.tenancy import TenantQuerySet
from apps.keys.services import api_key_hash
from apps.reports.models import SharedLink
from apps.reports.periods import property_today
from apps.reports.shared_links.selectors import shared_link_resolve
from apps.reports.shared_links.services import shared_link_create, shared_link_revoke
from tests.conftest import session_client_for
from tests.factories import PropertyFactory
from tests.reports.test_views_dashboard import card_values, count_cards, seed

pytestmark = pytest.mark.django_db


def share_path(token: str) -> str:
    return f"/share/{token}"


@pytest.fixture
def shared(tenant_a):
    """A's property with some traffic and an open shared link to it."""
    seed(tenant_a.property, property_today(tenant_a.property), visitor="v1", path="/")
    seed(tenant_a.property, property_today(tenant_a.property) - timedelta(days=1), visitor="v2", path="/pricing")
    link, token = shared_link_create(property=tenant_a.property, name="Investors", created_by=tenant_a.admin)
    return tenant_a, link, token


# --- Services and selectors -----------------------------------------------------------------------


def test_a_link_stores_only_the_tokens_hash_and_a_prefix(tenant_a):
    link, token = shared_link_create(property=tenant_a.property, name="Board")
    assert token.startswith("sl_") and len(token) == 3 + 32  # 192 random bits
    link.refresh_from_db()
    assert link.token_hash == api_key_hash(token) and token not in link.token_hash
    assert link.prefix == token[:11]
    assert not link.has_password() and link.password_hash == ""


def test_a_password_is_stored_as_a_django_password_hash(tenant_a):
    link, _ = shared_link_create(property=tenant_a.property, name="Board", password="open sesame")
    assert "open sesame" not in link.password_hash
    identify_hasher(link.password_hash)
    assert link.password_matches("open sesame") and not link.password_matches("open sesame ")


def test_a_link_needs_a_name(tenant_a):
    with pytest.raises(ValidationError):
        shared_link_create(property=tenant_a.property, name="")


def test_resolve_finds_active_links_only(tenant_a):
    link, token = shared_link_create(property=tenant_a.property, name="Board")
    assert shared_link_resolve(token) == link
    assert shared_link_resolve(token + "x") is None
    assert shared_link_resolve("wk_" + token[3:]) is None
    shared_link_revoke(shared_link=link)
    assert shared_link_resolve(token) is None


def test_shared_links_are_reached_through_the_tenant_door(tenant_a, tenant_b):
    assert isinstance(SharedLink.unscoped.all(), TenantQuerySet)
    mine, _ = shared_link_create(property=tenant_a.property, name="Mine")
    shared_link_create(property=tenant_b.property, name="Theirs")
    assert list(SharedLink.objects.for_user(tenant_a.viewer)) == [mine]


# --- The public page ------------------------------------------------------------------------------


def test_anyone_with_the_link_sees_the_dashboard_read_only(client, shared):
    tenant, _, token = shared
    response = client.get(share_path(token) + "?range=7d")
    assert response.status_code == 200
    html = response.content.decode()
    assert count_cards(html) == {"unique_visitors": "2", "pageviews": "2", "sessions": "2"}
    assert tenant.property.name in html


def test_the_shared_page_exposes_no_organisation_keys_settings_or_other_pages(client, shared):
    tenant, link, token = shared
    html = client.get(share_path(token)).content.decode()
    assert tenant.organization.name not in html
    assert tenant.organization.public_id not in html
    assert tenant.property.public_id not in html
    for key in tenant.property.api_keys.all():
        assert key.prefix not in html
    assert "wk_" not in html and "rk_" not in html
    assert link.name not in html
    assert "settings" not in html.lower() and "/admin" not in html
    assert not re.findall(rf'href="/(?!static/|share/{token}[/?"])', html), "links to other pages of the site"


def test_the_shared_page_is_not_indexed_and_sends_no_referrer(client, shared):
    _, _, token = shared
    response = client.get(share_path(token))
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_the_shared_page_keeps_period_and_filters_in_its_own_url(client, shared):
    _, _, token = shared
    response = client.get(share_path(token) + "?range=7d&f_path=/pricing")
    html = response.content.decode()
    assert card_values(html)["pageviews"] == "1"
    assert '<a class="chip-remove" href="?range=7d">' in html
    assert f'action="/share/{token}"' in html


def test_a_member_opening_the_link_gets_the_same_bare_page(shared):
    tenant, _, token = shared
    html = session_client_for(tenant.owner).get(share_path(token)).content.decode()
    assert tenant.owner.email not in html and tenant.organization.name not in html


@pytest.mark.parametrize("token", ["sl_doesnotexist", "nothing", "sl_" + "x" * 200])
def test_an_unknown_link_is_a_404(client, token):
    response = client.get(share_path(token))
    assert response.status_code == 404
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_revoked_link_is_a_404(client, shared):
    _, link, token = shared
    shared_link_revoke(shared_link=link)
    assert client.get(share_path(token)).status_code == 404


# --- Passwords ------------------------------------------------------------------------------------


@pytest.fixture
def protected(tenant_a):
    seed(tenant_a.property, property_today(tenant_a.property), visitor="v1")
    link, token = shared_link_create(property=tenant_a.property, name="Board", password="open sesame")
    return tenant_a, link, token


def test_a_protected_link_asks_for_the_password_and_shows_no_numbers(client, protected):
    tenant, _, token = protected
    response = client.get(share_path(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="password"' in html and "csrfmiddlewaretoken" in html
    assert "metric-value" not in html and tenant.property.name not in html


def test_the_password_form_can_be_posted_by_a_browser_and_leaks_the_link_to_no_other_site(client, protected):
    """Under `no-referrer` browsers post forms with `Origin: null`, which CSRF protection refuses."""
    _, _, token = protected
    for response in (client.get(share_path(token)), client.post(share_path(token), {"password": "guess"})):
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_wrong_password_is_a_form_error(client, protected):
    _, _, token = protected
    response = client.post(share_path(token), {"password": "guess"})
    assert response.status_code == 400
    assert "That is not the password of this link." in response.content.decode()
    assert "metric-value" not in response.content.decode()


def test_the_right_password_opens_the_dashboard_for_this_browser(client, protected):
    _, _, token = protected
    response = client.post(share_path(token) + "?range=7d", {"password": "open sesame"})
    assert (response.status_code, response["Location"]) == (302, share_path(token) + "?range=7d")
    assert card_values(client.get(share_path(token)).content.decode())["unique_visitors"] == "1"
    assert client.get(share_path(token) + "?range=today").status_code == 200
    other_browser = client.__class__()
    assert "metric-value" not in other_browser.get(share_path(token)).content.decode()


def test_unlocking_one_link_does_not_unlock_another(client, protected):
    tenant, _, token = protected
    _, other_token = shared_link_create(property=tenant.property, name="Other", password="other secret")
    client.post(share_path(token), {"password": "open sesame"})
    assert "metric-value" not in client.get(share_path(other_token)).content.decode()


def test_revoking_a_link_closes_it_for_browsers_that_had_the_password(client, protected):
    _, link, token = protected
    client.post(share_path(token), {"password": "open sesame"})
    shared_link_revoke(shared_link=link)
    assert client.get(share_path(token)).status_code == 404


def test_too_many_wrong_passwords_lock_the_link_for_that_address(client, protected, budget_window):
    _, _, token = protected
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert client.post(share_path(token), {"password": "guess"}).status_code == 400
    response = client.post(share_path(token), {"password": "open sesame"})
    assert response.status_code == 429
    # Counted in fixed windows of the cool-off period (apps/core/throttle.py): refused until this one ends.
    assert 1 <= int(response["Retry-After"]) <= int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert "Too many wrong passwords" in response.content.decode()
    elsewhere = client.__class__(REMOTE_ADDR="198.51.100.7")
    assert elsewhere.post(share_path(token), {"password": "open sesame"}).status_code == 302


# --- Managing links on the settings page ----------------------------------------------------------


def settings_path(prop, action: str = "") -> str:
    return f"/properties/{prop.public_id}/settings" + (f"/{action}" if action else "")


def test_an_admin_creates_a_link_on_the_settings_page_shown_once(client, tenant_a):
    admin = session_client_for(tenant_a.admin)
    response = admin.post(
        settings_path(tenant_a.property, "shared-links"), {"link-name": "Investors", "link-password": "s3cret pass"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    url = re.search(r'<code id="new-secret" class="secret">([^<]+)</code>', html).group(1)
    assert url.startswith("http://testserver/share/sl_")
    assert "after entering the password" in html
    link = SharedLink.unscoped.get()
    assert (link.property, link.name, link.created_by) == (tenant_a.property, "Investors", tenant_a.admin)
    assert link.password_matches("s3cret pass")
    page = admin.get(settings_path(tenant_a.property)).content.decode()
    assert url not in page and f"{link.prefix}…" in page and "Investors" in page
    path = url.removeprefix("http://testserver")
    assert client.post(path, {"password": "s3cret pass"}).status_code == 302


def test_a_link_without_a_name_is_a_form_error(tenant_a):
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property, "shared-links"), {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not SharedLink.unscoped.exists()


def test_an_admin_revokes_a_link_from_the_settings_page(client, shared):
    tenant, link, token = shared
    response = session_client_for(tenant.admin).post(settings_path(tenant.property, f"shared-links/{link.pk}/revoke"))
    assert (response.status_code, response["Location"]) == (302, settings_path(tenant.property) + "#shared-links")
    assert client.get(share_path(token)).status_code == 404
    page = session_client_for(tenant.admin).get(settings_path(tenant.property)).content.decode()
    assert "Revoked 20" in page


def test_a_viewer_can_neither_create_nor_revoke_links(shared):
    tenant, link, _ = shared
    viewer = session_client_for(tenant.viewer)
    assert viewer.post(settings_path(tenant.property, "shared-links"), {"link-name": "Mine"}).status_code == 403
    assert viewer.post(settings_path(tenant.property, f"shared-links/{link.pk}/revoke")).status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None and SharedLink.unscoped.count() == 1


def test_a_link_of_another_property_is_a_404_on_this_propertys_page(shared):
    tenant, _, _ = shared
    other_link, _ = shared_link_create(property=PropertyFactory(organization=tenant.organization), name="Other")
    path = settings_path(tenant.property, f"shared-links/{other_link.pk}/revoke")
    assert session_client_for(tenant.owner).post(path).status_code == 404
    other_link.refresh_from_db()
    assert other_link.revoked_at is None


# --- Admin ----------------------------------------------------------------------------------------


def test_the_admin_creates_a_link_and_shows_it_once_as_a_message(tenant_a):
    admin = session_client_for(tenant_a.admin)
    response = admin.post(
        "/admin/reports/sharedlink/add/",
        {"property": tenant_a.property.pk, "name": "From admin", "password": ""},
        follow=True,
    )
    html = response.content.decode()
    token = re.search(r"http://testserver/share/(sl_[\w-]+)", html).group(1)
    link = SharedLink.unscoped.get()
    assert shared_link_resolve(token) == link and link.created_by == tenant_a.admin and not link.has_password()
    assert token not in admin.get(f"/admin/reports/sharedlink/{link.pk}/change/").content.decode()


def test_the_admin_revokes_selected_links(tenant_a):
    link, token = shared_link_create(property=tenant_a.property, name="Board")
    response = session_client_for(tenant_a.admin).post(
        "/admin/reports/sharedlink/", {"action": "revoke_selected", "_selected_action": [link.pk]}, follow=True
    )
    assert "Revoked 1 shared link(s)." in response.content.decode()
    assert shared_link_resolve(token) is None


def test_the_admin_offers_only_the_members_own_properties(tenant_a, tenant_b):
    html = session_client_for(tenant_a.admin).get("/admin/reports/sharedlink/add/").content.decode()
    assert tenant_b.property.name not in html
    assert session_client_for(tenant_a.viewer).get("/admin/reports/sharedlink/").status_code in (302, 403)
