"""/v1/properties/{id}/keys: admins list, create, revoke and rotate a property's keys."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.tenancy import Role
from apps.keys import selectors as key_selectors
from apps.keys.models import ApiKey
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import member_call

pytestmark = pytest.mark.django_db

ROLES = (Role.OWNER, Role.ADMIN, Role.VIEWER)
MISSING_PROPERTY = "prop_doesnotexist0000"
MISSING_KEY = 987654321
KEY_FIELDS = {"id", "kind", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "status"}


def keys_path(property_id: str, key_id=None, action: str = "") -> str:
    path = f"/v1/properties/{property_id}/keys"
    if key_id is not None:
        path += f"/{key_id}"
    return path + (f"/{action}" if action else "")


def first_key(tenant, kind: str = ApiKey.Kind.READ) -> ApiKey:
    return tenant.property.api_keys.get(kind=kind)


def report(secret: str, tenant):
    """A report request with a read key, as a server makes it."""
    key_selectors._cache.clear()  # what a second's wait does: no process trusts a cached lookup longer
    return Client().get(f"/v1/properties/{tenant.property.public_id}/overview", HTTP_AUTHORIZATION=f"Bearer {secret}")


def ingest(secret: str, tenant):
    key_selectors._cache.clear()
    envelope = {"property_id": tenant.property.public_id, "events": [{"type": "pageview"}]}
    return Client(headers={"user-agent": BROWSER_USER_AGENT}).post(
        "/v1/events", json.dumps(envelope), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )


ADMINS = (Role.OWNER, Role.ADMIN)
# Each key endpoint: method, path, body, and the roles that may use it (the others get a 403).
ENDPOINTS = {
    "list": ("get", lambda t: keys_path(t.property.public_id), None),
    "create": ("post", lambda t: keys_path(t.property.public_id), {"kind": "read", "name": "ci"}),
    "retrieve": ("get", lambda t: keys_path(t.property.public_id, first_key(t).pk), None),
    "revoke": ("delete", lambda t: keys_path(t.property.public_id, first_key(t).pk), None),
    "rotate": ("post", lambda t: keys_path(t.property.public_id, first_key(t).pk, "rotate"), None),
}
SUCCESS = {"list": 200, "create": 201, "retrieve": 200, "revoke": 204, "rotate": 201}


@pytest.mark.parametrize("via", ["jwt", "session"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_is_for_admins_and_owners_only(tenant_a, endpoint, role, via):
    method, path, body = ENDPOINTS[endpoint]
    response = member_call(method, path(tenant_a), user=tenant_a.member(role), via=via, body=body)
    if role in ADMINS:
        assert response.status_code == SUCCESS[endpoint], response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
        assert ApiKey.unscoped.filter(property=tenant_a.property, revoked_at=None, expires_at=None).count() == 2


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("credential", ["anonymous", "read_key", "write_key"])
def test_keys_and_anonymous_callers_manage_no_keys(tenant_a, endpoint, credential):
    method, path, body = ENDPOINTS[endpoint]
    headers = {} if credential == "anonymous" else {"HTTP_AUTHORIZATION": f"Bearer {getattr(tenant_a, credential)}"}
    response = member_call(method, path(tenant_a), body=body, **headers)
    assert response.status_code == 401, response.content
    assert ApiKey.unscoped.filter(property=tenant_a.property, revoked_at=None, expires_at=None).count() == 2


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_organisations_property_is_the_same_404_as_a_missing_one(tenant_a, tenant_b, endpoint):
    method, path, body = ENDPOINTS[endpoint]
    theirs_path = path(tenant_b)
    missing_path = theirs_path.replace(tenant_b.property.public_id, MISSING_PROPERTY)
    theirs = member_call(method, theirs_path, user=tenant_a.owner, body=body)
    missing = member_call(method, missing_path, user=tenant_a.owner, body=body)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert ApiKey.unscoped.filter(property=tenant_b.property, revoked_at=None, expires_at=None).count() == 2


@pytest.mark.parametrize("action", ["retrieve", "revoke", "rotate"])
def test_another_propertys_key_is_the_same_404_as_a_missing_one(tenant_a, tenant_b, action):
    method = {"retrieve": "get", "revoke": "delete", "rotate": "post"}[action]
    suffix = "rotate" if action == "rotate" else ""
    own_property = tenant_a.property.public_id
    theirs = member_call(method, keys_path(own_property, first_key(tenant_b).pk, suffix), user=tenant_a.owner)
    missing = member_call(method, keys_path(own_property, MISSING_KEY, suffix), user=tenant_a.owner)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert first_key(tenant_b).is_active(timezone.now())
    assert report(tenant_b.read_key, tenant_b).status_code == 200


def test_list_shows_every_key_of_the_property_without_secrets(tenant_a, tenant_b):
    response = member_call("get", keys_path(tenant_a.property.public_id), user=tenant_a.admin)
    assert response.status_code == 200
    body = response.json()
    assert {key["id"] for key in body} == set(tenant_a.property.api_keys.values_list("pk", flat=True))
    assert all(set(key) == KEY_FIELDS for key in body)
    assert {key["kind"]: key["status"] for key in body} == {"write": "active", "read": "active"}
    assert tenant_a.read_key.startswith(next(key["prefix"] for key in body if key["kind"] == "read"))
    assert tenant_a.read_key not in response.content.decode()


def test_create_returns_the_secret_once_and_the_key_works(tenant_a):
    expires_at = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    response = member_call(
        "post",
        keys_path(tenant_a.property.public_id),
        user=tenant_a.admin,
        body={"kind": "write", "name": "mobile app", "expires_at": expires_at.isoformat()},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert set(created) == KEY_FIELDS | {"secret"}
    assert (created["kind"], created["name"], created["status"]) == ("write", "mobile app", "active")
    assert created["secret"].startswith("wk_") and created["secret"].startswith(created["prefix"])
    assert ApiKey.unscoped.get(pk=created["id"]).expires_at == expires_at
    assert ingest(created["secret"], tenant_a).status_code == 202

    retrieved = member_call("get", keys_path(tenant_a.property.public_id, created["id"]), user=tenant_a.admin).json()
    assert "secret" not in retrieved and retrieved["id"] == created["id"]


def test_a_created_read_key_reads_reports(tenant_a):
    body = {"kind": "read"}
    created = member_call("post", keys_path(tenant_a.property.public_id), user=tenant_a.owner, body=body).json()
    assert created["name"] == "" and created["expires_at"] is None
    assert report(created["secret"], tenant_a).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "admin"}, "kind"),
        ({}, "kind"),
        ({"kind": "read", "expires_at": "tomorrow"}, "expires_at"),
        ({"kind": "read", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"kind": "read", "name": "x" * 101}, "name"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(tenant_a, body, field):
    response = member_call("post", keys_path(tenant_a.property.public_id), user=tenant_a.owner, body=body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert tenant_a.property.api_keys.count() == 2


def test_revoke_refuses_the_key_within_the_lookup_cache_lifetime(tenant_a):
    key = first_key(tenant_a)
    assert report(tenant_a.read_key, tenant_a).status_code == 200

    response = member_call("delete", keys_path(tenant_a.property.public_id, key.pk), user=tenant_a.admin)
    assert response.status_code == 204
    assert response.content == b""
    refused = report(tenant_a.read_key, tenant_a)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "authentication_failed"
    shown = member_call("get", keys_path(tenant_a.property.public_id, key.pk), user=tenant_a.admin).json()
    assert shown["status"] == "revoked" and shown["revoked_at"] is not None
    assert report(tenant_a.read_key, tenant_a).status_code == 401
    assert ingest(tenant_a.write_key, tenant_a).status_code == 202  # the other key is untouched


def test_rotate_gives_a_new_key_and_lets_the_old_one_work_until_it_expires(tenant_a, settings):
    settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS = 24
    old = first_key(tenant_a, ApiKey.Kind.WRITE)
    response = member_call("post", keys_path(tenant_a.property.public_id, old.pk, "rotate"), user=tenant_a.admin)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == KEY_FIELDS | {"secret", "previous"}
    assert (body["kind"], body["name"], body["status"]) == ("write", old.name, "active")
    assert body["id"] != old.pk and body["secret"].startswith("wk_")
    previous = body["previous"]
    assert previous["id"] == old.pk and previous["status"] == "active"
    old_expiry = ApiKey.unscoped.get(pk=old.pk).expires_at
    assert previous["expires_at"] == old_expiry.isoformat().replace("+00:00", "Z")
    assert abs(old_expiry - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)

    assert ingest(tenant_a.write_key, tenant_a).status_code == 202  # the old key, within its grace
    assert ingest(body["secret"], tenant_a).status_code == 202

    ApiKey.unscoped.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert ingest(tenant_a.write_key, tenant_a).status_code == 401
    assert ingest(body["secret"], tenant_a).status_code == 202
    shown = member_call("get", keys_path(tenant_a.property.public_id, old.pk), user=tenant_a.admin).json()
    assert shown["status"] == "expired"


def test_a_revoked_key_cannot_be_rotated(tenant_a):
    key = first_key(tenant_a)
    member_call("delete", keys_path(tenant_a.property.public_id, key.pk), user=tenant_a.owner)
    response = member_call("post", keys_path(tenant_a.property.public_id, key.pk, "rotate"), user=tenant_a.owner)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "key_inactive"
    assert tenant_a.property.api_keys.count() == 2


def test_a_read_key_on_an_ingest_token_path_with_non_ascii_characters_is_a_404(tenant_a):
    response = Client().post(
        "/v1/properties/%E9%87%95%C3%99/ingest-tokens",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}",
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
