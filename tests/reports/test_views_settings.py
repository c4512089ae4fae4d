"""Property settings: viewers read, admins change the property, install the beacon and manage keys."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_resolve
from apps.keys.services import api_key_create, api_key_hash, api_key_revoke
from apps.properties.services import property_update
from tests.accounts.test_views import assert_accessible_page
from tests.conftest import session_client_for
from tests.factories import PropertyFactory

pytestmark = pytest.mark.django_db


def settings_path(prop, action: str = "") -> str:
    return f"/properties/{prop.public_id}/settings" + (f"/{action}" if action else "")


def new_secret(html: str) -> str:
    return re.search(r'<code id="new-secret" class="secret">([^<]+)</code>', html).group(1)


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a):
    response = client.get(settings_path(tenant_a.property))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_a_viewer_reads_the_settings_and_the_snippet_but_no_keys_and_no_forms_to_send(tenant_a):
    response = session_client_for(tenant_a.viewer).get(settings_path(tenant_a.property))
    assert response.status_code == 200
    html = assert_accessible_page(response, f"Settings of {tenant_a.property.name}")
    assert re.search(r'<input type="text" name="name" value="[^"]*"[^>]* disabled', html)
    assert "Only the organisation's admins and owners can change these." in html
    assert 'method="post"' not in html.split('<main id="main"')[1]
    assert "wk_" not in html.replace("wk_…", "").replace("(<code>wk_</code>)", "")
    assert 'id="keys"' not in html and 'id="shared-links"' not in html


def test_a_viewer_cannot_change_the_property(tenant_a):
    response = session_client_for(tenant_a.viewer).post(
        settings_path(tenant_a.property), {"name": "Hijacked", "timezone": "UTC", "allowed_origins": ""}
    )
    assert response.status_code == 403
    tenant_a.property.refresh_from_db()
    assert tenant_a.property.name != "Hijacked"


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_an_admin_changes_name_timezone_and_origins(tenant_a, role):
    response = session_client_for(tenant_a.member(role)).post(
        settings_path(tenant_a.property),
        {
            "name": "Shop",
            "timezone": "Europe/Paris",
            "allowed_origins": "https://shop.example.com\r\n\r\n https://*.example.org \r\n",
        },
    )
    assert (response.status_code, response["Location"]) == (302, settings_path(tenant_a.property))
    tenant_a.property.refresh_from_db()
    assert tenant_a.property.name == "Shop"
    assert tenant_a.property.timezone == "Europe/Paris"
    assert tenant_a.property.allowed_origins == ["https://*.example.org", "https://shop.example.com"]


def test_the_settings_form_shows_the_current_values_with_a_timezone_select(tenant_a):
    html = session_client_for(tenant_a.admin).get(settings_path(tenant_a.property)).content.decode()
    assert '<option value="Europe/Paris">Europe/Paris</option>' in html
    assert f'<option value="{tenant_a.property.timezone}" selected>' in html
    assert "https://example.com</textarea>" in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"allowed_origins": "not an origin"}, "allowed_origins", "is not an origin like https://example.com"),
        ({"allowed_origins": "https://ex*ample.com"}, "allowed_origins", "a wildcard may only stand for subdomains"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Select a valid choice"),
        ({"name": ""}, "name", "This field is required."),
        ({"domains": "example.com/shop"}, "domains", "is not a domain like example.com"),
    ],
)
def test_invalid_settings_are_form_errors_and_change_nothing(tenant_a, fields, field, message):
    data = {"name": "Renamed", "timezone": "UTC", "allowed_origins": "https://example.com"} | fields
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(rf'<ul class="errorlist" id="id_{field}_error"><li>[^<]*{re.escape(message)}', html), html
    tenant_a.property.refresh_from_db()
    assert tenant_a.property.name != "Renamed"


def test_an_admin_sets_the_domains_one_per_line_the_first_the_primary(tenant_a):
    data = {"name": "Shop", "timezone": "UTC", "allowed_origins": "https://example.com"}
    client = session_client_for(tenant_a.admin)
    response = client.post(settings_path(tenant_a.property), {**data, "domains": "Shop.Example.com\r\nexample.com\r\n"})
    assert response.status_code == 302
    assert tenant_a.property.domains == ["shop.example.com", "example.com"]
    html = client.get(settings_path(tenant_a.property)).content.decode()
    assert re.search(r'<textarea name="domains"[^>]*>\nshop\.example\.com\nexample\.com</textarea>', html)


def test_a_domain_of_another_organisations_property_is_a_form_error(tenant_a, tenant_b):
    property_update(property=tenant_b.property, domains=["taken.example"])
    data = {"name": "Shop", "timezone": "UTC", "allowed_origins": "", "domains": "mine.example\ntaken.example"}
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(
        r'<ul class="errorlist" id="id_domains_error"><li>taken.example is already the domain of another property.',
        html,
    )
    tenant_a.property.refresh_from_db()
    assert tenant_a.property.name != "Shop", "nothing of the form was saved"
    assert tenant_a.property.domains == [] and tenant_b.property.domains == ["taken.example"]


def test_another_organisations_settings_are_a_404_like_missing_ones(tenant_a, tenant_b):
    client = session_client_for(tenant_a.owner)
    for method in ("get", "post"):
        theirs = getattr(client, method)(settings_path(tenant_b.property))
        missing = getattr(client, method)("/properties/prop_doesnotexist0000/settings")
        assert theirs.status_code == missing.status_code == 404


# --- The beacon snippet ---------------------------------------------------------------------------


def test_the_snippet_is_the_readme_tag_with_this_servers_address_and_a_key_placeholder(tenant_a):
    html = session_client_for(tenant_a.viewer).get(settings_path(tenant_a.property)).content.decode()
    assert (
        f'&lt;script defer src="http://testserver/c.js"\n        data-property="{tenant_a.property.public_id}"'
        ' data-key="wk_…"&gt;&lt;/script&gt;'
    ) in html


def test_an_admin_creates_a_write_key_for_the_snippet_shown_once(tenant_a):
    client = session_client_for(tenant_a.admin)
    response = client.post(settings_path(tenant_a.property, "snippet-key"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = new_secret(html)
    assert f'data-key="{secret}"' in html
    key = api_key_resolve(secret=secret, kind=ApiKey.Kind.WRITE)
    assert key is not None and key.property_id == tenant_a.property.pk
    assert ApiKey.unscoped.get(pk=key.id).key_hash == api_key_hash(secret)
    assert secret not in client.get(settings_path(tenant_a.property)).content.decode()


def test_a_viewer_cannot_create_a_snippet_key(tenant_a):
    before = ApiKey.unscoped.count()
    assert session_client_for(tenant_a.viewer).post(settings_path(tenant_a.property, "snippet-key")).status_code == 403
    assert ApiKey.unscoped.count() == before


# --- Keys -----------------------------------------------------------------------------------------


def test_the_key_list_shows_prefix_kind_name_status_and_use(tenant_a):
    revoked, _ = api_key_create(property=tenant_a.property, kind=ApiKey.Kind.READ, name="old reader")
    api_key_revoke(api_key=revoked)
    expired, _ = api_key_create(property=tenant_a.property, kind=ApiKey.Kind.WRITE, name="temp")
    ApiKey.unscoped.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    html = session_client_for(tenant_a.admin).get(settings_path(tenant_a.property)).content.decode()
    rows = {prefix: row for row, prefix in re.findall(r"(<tr>\s*<td><code>([\w-]+)….*?</tr>)", html, re.S)}
    assert set(rows) == set(tenant_a.property.api_keys.values_list("prefix", flat=True))
    assert "<td>Revoked</td>" in rows[revoked.prefix] and "old reader" in rows[revoked.prefix]
    assert "<td>Expired</td>" in rows[expired.prefix]
    active = tenant_a.property.api_keys.get(name="default", kind="write")
    assert "<td>Active</td>" in rows[active.prefix] and "<td>never</td>" in rows[active.prefix]
    assert "Rotate" in rows[active.prefix] and "Rotate" not in rows[revoked.prefix]


def test_an_admin_creates_a_read_key_whose_secret_is_shown_once(tenant_a):
    client = session_client_for(tenant_a.admin)
    response = client.post(settings_path(tenant_a.property, "keys"), {"key-kind": "read", "key-name": "server"})
    assert response.status_code == 200
    secret = new_secret(response.content.decode())
    assert secret.startswith("rk_")
    stored = ApiKey.unscoped.get(key_hash=api_key_hash(secret))
    assert (stored.property, stored.kind, stored.name) == (tenant_a.property, "read", "server")
    assert secret not in client.get(settings_path(tenant_a.property)).content.decode()


def test_an_invalid_key_kind_is_a_form_error(tenant_a):
    before = ApiKey.unscoped.count()
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property, "keys"), {"key-kind": "root"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert ApiKey.unscoped.count() == before


def test_revoking_a_key_stops_it_at_once(tenant_a):
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.write_key))
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property, f"keys/{key.pk}/revoke"))
    assert (response.status_code, response["Location"]) == (302, settings_path(tenant_a.property) + "#keys")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_resolve(secret=tenant_a.write_key, kind=ApiKey.Kind.WRITE) is None


def test_rotating_a_key_shows_the_new_secret_and_until_when_the_old_one_works(tenant_a):
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.read_key))
    before = timezone.now()
    response = session_client_for(tenant_a.admin).post(settings_path(tenant_a.property, f"keys/{key.pk}/rotate"))
    assert response.status_code == 200
    html = response.content.decode()
    secret = new_secret(html)
    assert api_key_resolve(secret=secret, kind=ApiKey.Kind.READ) is not None
    key.refresh_from_db()
    grace = timedelta(hours=settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS)
    assert before + grace <= key.expires_at <= timezone.now() + grace
    assert f"The old key {key.prefix}… keeps working until {key.expires_at:%Y-%m-%d %H:%M} UTC." in html


def test_rotating_a_revoked_key_is_refused_with_a_message(tenant_a):
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.read_key))
    api_key_revoke(api_key=key)
    client = session_client_for(tenant_a.admin)
    response = client.post(settings_path(tenant_a.property, f"keys/{key.pk}/rotate"), follow=True)
    assert "A revoked or expired key cannot be rotated." in response.content.decode()
    assert tenant_a.property.api_keys.count() == 2


def test_a_viewer_can_neither_revoke_nor_rotate(tenant_a):
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.write_key))
    client = session_client_for(tenant_a.viewer)
    for action in ("revoke", "rotate"):
        assert client.post(settings_path(tenant_a.property, f"keys/{key.pk}/{action}")).status_code == 403
    key.refresh_from_db()
    assert (key.revoked_at, key.expires_at) == (None, None)


def test_a_key_of_another_property_is_a_404_on_this_propertys_page(tenant_a):
    other = PropertyFactory(organization=tenant_a.organization)
    other_key, _ = api_key_create(property=other, kind=ApiKey.Kind.WRITE)
    client = session_client_for(tenant_a.owner)
    for action in ("revoke", "rotate"):
        assert client.post(settings_path(tenant_a.property, f"keys/{other_key.pk}/{action}")).status_code == 404
    other_key.refresh_from_db()
    assert (other_key.revoked_at, other_key.expires_at) == (None, None)


def test_key_actions_answer_only_posts(tenant_a):
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.write_key))
    client = session_client_for(tenant_a.admin)
    for action in ("snippet-key", "keys", f"keys/{key.pk}/revoke", f"keys/{key.pk}/rotate"):
        assert client.get(settings_path(tenant_a.property, action)).status_code == 405


def test_key_actions_refuse_posts_without_a_csrf_token(tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.admin, backend="django.contrib.auth.backends.ModelBackend")
    key = ApiKey.unscoped.get(key_hash=api_key_hash(tenant_a.write_key))
    assert client.post(settings_path(tenant_a.property, f"keys/{key.pk}/revoke")).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
