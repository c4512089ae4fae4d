"""/v1/properties and /v1/properties/{id}: members list, create, read, change and delete properties."""

import json

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.crypto import get_random_string

from apps.core.tenancy import Role
from apps.ingestion.models import Event
from apps.keys.models import ApiKey
from apps.properties.models import Property
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import jwt_for, member_call
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

ROLES = (Role.OWNER, Role.ADMIN, Role.VIEWER)
MISSING_PROPERTY = "prop_doesnotexist0000"
MISSING_ORGANIZATION = "org_doesnotexist00000"
PROPERTY_FIELDS = {
    "id",
    "organization",
    "name",
    "domains",
    "allowed_origins",
    "timezone",
    "retention_days",
    "ingest_limit_per_key",
    "ingest_limit_per_address",
    "created_at",
}


def property_path(property_id: str) -> str:
    return f"/v1/properties/{property_id}"


def new_property_body(tenant, **fields) -> dict:
    return {"organization": tenant.organization.public_id, "name": "Docs site", **fields}


# Each property endpoint, and the roles that may use it (the others get a 403).
ENDPOINTS = {
    "list": ("get", lambda t: "/v1/properties", None, ROLES),
    "create": ("post", lambda t: "/v1/properties", new_property_body, (Role.OWNER, Role.ADMIN)),
    "retrieve": ("get", lambda t: property_path(t.property.public_id), None, ROLES),
    "update": (
        "patch",
        lambda t: property_path(t.property.public_id),
        lambda t: {"name": "New"},
        (Role.OWNER, Role.ADMIN),
    ),
    "delete": ("delete", lambda t: property_path(t.property.public_id), None, (Role.OWNER,)),
}
SUCCESS = {"get": 200, "post": 201, "patch": 200, "delete": 204}


@pytest.mark.parametrize("via", ["jwt", "session"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_is_allowed_by_role_and_refused_below_it(tenant_a, endpoint, role, via):
    method, path, body, allowed = ENDPOINTS[endpoint]
    response = member_call(method, path(tenant_a), user=tenant_a.member(role), via=via, body=body and body(tenant_a))
    if role in allowed:
        assert response.status_code == SUCCESS[method], response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("credential", ["anonymous", "read_key", "write_key"])
def test_keys_and_anonymous_callers_manage_nothing(tenant_a, endpoint, credential):
    method, path, body, _ = ENDPOINTS[endpoint]
    headers = {} if credential == "anonymous" else {"HTTP_AUTHORIZATION": f"Bearer {getattr(tenant_a, credential)}"}
    response = member_call(method, path(tenant_a), body=body and body(tenant_a), **headers)
    assert response.status_code == 401, response.content
    assert Property.unscoped.filter(pk=tenant_a.property.pk, name=tenant_a.property.name).exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organisations_property_is_the_same_404_as_a_missing_one(tenant_a, tenant_b, method):
    body = {"name": "Taken over"} if method == "patch" else None
    theirs = member_call(method, property_path(tenant_b.property.public_id), user=tenant_a.owner, body=body)
    missing = member_call(method, property_path(MISSING_PROPERTY), user=tenant_a.owner, body=body)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert Property.unscoped.get(pk=tenant_b.property.pk).name == tenant_b.property.name


def test_list_shows_every_property_the_member_may_see_and_nothing_else(tenant_a, tenant_b):
    body = member_call("get", "/v1/properties", user=tenant_a.viewer).json()
    assert [item["id"] for item in body] == [tenant_a.property.public_id]
    assert set(body[0]) == PROPERTY_FIELDS
    assert body[0]["organization"] == tenant_a.organization.public_id
    assert body[0]["allowed_origins"] == tenant_a.property.allowed_origins


def test_list_filters_by_organisation_through_the_organisation_door(tenant_a, tenant_b):
    MembershipFactory(user=tenant_a.viewer, organization=tenant_b.organization, role=Role.VIEWER)
    everything = member_call("get", "/v1/properties", user=tenant_a.viewer).json()
    assert {item["id"] for item in everything} == {tenant_a.property.public_id, tenant_b.property.public_id}
    only_b = member_call("get", f"/v1/properties?organization={tenant_b.organization.public_id}", user=tenant_a.viewer)
    assert [item["id"] for item in only_b.json()] == [tenant_b.property.public_id]


def test_filtering_by_another_organisation_is_the_same_404_as_a_missing_one(tenant_a, tenant_b):
    theirs = member_call("get", f"/v1/properties?organization={tenant_b.organization.public_id}", user=tenant_a.owner)
    missing = member_call("get", f"/v1/properties?organization={MISSING_ORGANIZATION}", user=tenant_a.owner)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_create_returns_the_property_and_keys_that_work(client, tenant_a):
    response = member_call(
        "post",
        "/v1/properties",
        user=tenant_a.admin,
        body=new_property_body(tenant_a, allowed_origins=["HTTPS://Docs.Example.com/"], timezone="Europe/Paris"),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PROPERTY_FIELDS | {"keys"}
    assert body["organization"] == tenant_a.organization.public_id
    assert body["allowed_origins"] == ["https://docs.example.com"]
    assert body["timezone"] == "Europe/Paris"
    secrets = {key["kind"]: key["secret"] for key in body["keys"]}
    assert secrets["write"].startswith("wk_") and secrets["read"].startswith("rk_")
    assert all(key["status"] == "active" and key["secret"].startswith(key["prefix"]) for key in body["keys"])

    envelope = {"property_id": body["id"], "events": [{"type": "pageview", "context": {"page": {"path": "/"}}}]}
    ingested = client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secrets['write']}",
    )
    assert ingested.status_code == 202, ingested.content
    assert Event.objects.filter(property__public_id=body["id"]).count() == 1
    report = client.get(f"/v1/properties/{body['id']}/overview", HTTP_AUTHORIZATION=f"Bearer {secrets['read']}")
    assert report.status_code == 200, report.content
    assert report.json()["pageviews"] == 1


def test_the_secrets_are_shown_only_when_created(tenant_a):
    created = member_call("post", "/v1/properties", user=tenant_a.owner, body=new_property_body(tenant_a)).json()
    listed = member_call("get", f"/v1/properties/{created['id']}/keys", user=tenant_a.owner).json()
    assert len(listed) == 2
    assert not any("secret" in key or "key_hash" in key for key in listed)
    retrieved = member_call("get", property_path(created["id"]), user=tenant_a.owner).json()
    assert "keys" not in retrieved


def test_create_in_another_organisation_is_the_same_404_as_in_a_missing_one(tenant_a, tenant_b):
    theirs = member_call("post", "/v1/properties", user=tenant_a.owner, body=new_property_body(tenant_b))
    missing = member_call(
        "post", "/v1/properties", user=tenant_a.owner, body={"organization": MISSING_ORGANIZATION, "name": "Docs site"}
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert not Property.unscoped.filter(organization=tenant_b.organization, name="Docs site").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"organization": ""}, "organization"),
        ({"organization": None, "name": ""}, "organization"),
        ({"name": ""}, "name"),
        ({"allowed_origins": ["ftp://example.com"]}, "allowed_origins"),
        ({"allowed_origins": "https://example.com"}, "allowed_origins"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"domains": ["https://example.com"]}, "domains"),
        ({"domains": ["example.com:8080"]}, "domains"),
        ({"domains": "example.com"}, "domains"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(tenant_a, body, field):
    response = member_call("post", "/v1/properties", user=tenant_a.owner, body={**new_property_body(tenant_a), **body})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert Property.unscoped.filter(organization=tenant_a.organization).count() == 1


def test_update_changes_the_fields_sent_and_only_those(tenant_a):
    changes = {
        "name": "Renamed",
        "allowed_origins": ["https://*.Example.org", "http://localhost:8000/"],
        "timezone": "America/New_York",
        "retention_days": 30,
        "ingest_limit_per_key": 0,
        "ingest_limit_per_address": 60,
    }
    response = member_call("patch", property_path(tenant_a.property.public_id), user=tenant_a.admin, body=changes)
    assert response.status_code == 200, response.content
    expected = {**changes, "allowed_origins": ["http://localhost:8000", "https://*.example.org"]}
    assert {name: response.json()[name] for name in changes} == expected
    stored = Property.unscoped.get(pk=tenant_a.property.pk)
    assert {name: getattr(stored, name) for name in changes} == expected

    renamed = member_call(
        "patch", property_path(tenant_a.property.public_id), user=tenant_a.admin, body={"name": "Again"}
    )
    assert renamed.json()["timezone"] == "America/New_York" and renamed.json()["retention_days"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"allowed_origins": ["https://example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": ["https://exa*mple.com"]}, "allowed_origins"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"retention_days": 0}, "retention_days"),
        ({"ingest_limit_per_key": -1}, "ingest_limit_per_key"),
        ({"ingest_limit_per_address": "many"}, "ingest_limit_per_address"),
        ({"name": ""}, "name"),
        ({"domains": ["exa mple.com"]}, "domains"),
    ],
)
def test_update_refuses_bad_values_naming_the_field(tenant_a, body, field):
    response = member_call("patch", property_path(tenant_a.property.public_id), user=tenant_a.owner, body=body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    stored = Property.unscoped.get(pk=tenant_a.property.pk)
    assert (stored.allowed_origins, stored.timezone, stored.retention_days) == (["https://example.com"], "UTC", 400)


def test_create_with_domains_allows_https_on_each_by_default(tenant_a):
    body = new_property_body(tenant_a, domains=["Shop.Example.com", "bücher.example", "shop.example.com."])
    response = member_call("post", "/v1/properties", user=tenant_a.admin, body=body)
    assert response.status_code == 201, response.content
    assert response.json()["domains"] == ["shop.example.com", "xn--bcher-kva.example"], "normalized, primary first"
    assert response.json()["allowed_origins"] == ["https://shop.example.com", "https://xn--bcher-kva.example"]
    retrieved = member_call("get", property_path(response.json()["id"]), user=tenant_a.viewer).json()
    assert retrieved["domains"] == ["shop.example.com", "xn--bcher-kva.example"]


def test_origins_sent_with_domains_are_kept_as_sent_even_empty(tenant_a):
    body = new_property_body(tenant_a, domains=["example.net"], allowed_origins=[])
    response = member_call("post", "/v1/properties", user=tenant_a.admin, body=body)
    assert (response.json()["domains"], response.json()["allowed_origins"]) == (["example.net"], [])


def test_a_domain_belongs_to_one_property_on_the_whole_server(tenant_a, tenant_b):
    mine = member_call(
        "post", "/v1/properties", user=tenant_a.admin, body=new_property_body(tenant_a, domains=["example.org"])
    )
    assert mine.status_code == 201
    for tenant, domains in ((tenant_b, ["EXAMPLE.org"]), (tenant_a, ["new.example.org", "example.org"])):
        taken = member_call(
            "post", "/v1/properties", user=tenant.admin, body=new_property_body(tenant, name="Copy", domains=domains)
        )
        assert taken.status_code == 400, taken.content
        assert taken.json()["error"] == {
            "code": "invalid_parameter",
            "message": "example.org is already the domain of another property.",
            "field": "domains",
        }
    assert not Property.unscoped.filter(name="Copy").exists()
    moved = member_call(
        "patch", property_path(tenant_b.property.public_id), user=tenant_b.admin, body={"domains": ["example.org"]}
    )
    assert moved.status_code == 400
    assert member_call("get", property_path(tenant_b.property.public_id), user=tenant_b.admin).json()["domains"] == []


def test_update_replaces_the_domains_in_order_and_keeps_the_origins(tenant_a):
    path = property_path(tenant_a.property.public_id)
    member_call("patch", path, user=tenant_a.admin, body={"domains": ["a.example", "b.example"]})
    response = member_call("patch", path, user=tenant_a.admin, body={"domains": ["b.example", "c.example"]})
    assert response.status_code == 200, response.content
    assert response.json()["domains"] == ["b.example", "c.example"]
    assert response.json()["allowed_origins"] == ["https://example.com"]
    freed = member_call(
        "post", "/v1/properties", user=tenant_a.admin, body=new_property_body(tenant_a, domains=["a.example"])
    )
    assert freed.status_code == 201, "a domain a property gave up is free again"
    cleared = member_call("patch", path, user=tenant_a.admin, body={"domains": []})
    assert cleared.json()["domains"] == []


def test_the_list_reads_every_propertys_domains_in_one_query(tenant_a):
    for n in range(3):
        member_call(
            "post", "/v1/properties", user=tenant_a.admin, body=new_property_body(tenant_a, domains=[f"s{n}.example"])
        )
    with CaptureQueriesContext(connection) as few:
        listed = member_call("get", "/v1/properties", user=tenant_a.viewer).json()
    assert sorted(item["domains"] for item in listed) == [[], ["s0.example"], ["s1.example"], ["s2.example"]]
    member_call("post", "/v1/properties", user=tenant_a.admin, body=new_property_body(tenant_a, domains=["s3.example"]))
    with CaptureQueriesContext(connection) as more:
        member_call("get", "/v1/properties", user=tenant_a.viewer)
    assert len(more) == len(few)


def test_delete_destroys_the_property_with_its_keys_and_data(client, tenant_a, tenant_b):
    envelope = {"property_id": tenant_a.property.public_id, "events": [{"type": "pageview"}]}
    client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
    )
    assert Event.objects.filter(property=tenant_a.property).exists()

    response = member_call("delete", property_path(tenant_a.property.public_id), user=tenant_a.owner)
    assert response.status_code == 204
    assert member_call("get", property_path(tenant_a.property.public_id), user=tenant_a.owner).status_code == 404
    assert not Event.objects.filter(property_id=tenant_a.property.pk).exists()
    assert not ApiKey.unscoped.filter(property_id=tenant_a.property.pk).exists()
    assert Property.unscoped.filter(pk=tenant_b.property.pk).exists()


def test_session_writes_need_the_csrf_token_and_jwt_writes_do_not(tenant_a):
    path = property_path(tenant_a.property.public_id)
    browser = Client(enforce_csrf_checks=True, headers={"user-agent": BROWSER_USER_AGENT})
    browser.force_login(tenant_a.admin, backend="django.contrib.auth.backends.ModelBackend")
    body = {"data": json.dumps({"name": "By session"}), "content_type": "application/json"}

    refused = browser.patch(path, **body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert browser.get(path).status_code == 200  # reads need no token

    token = get_random_string(32)
    browser.cookies[settings.CSRF_COOKIE_NAME] = token
    assert browser.patch(path, HTTP_X_CSRFTOKEN=token, **body).status_code == 200

    program = Client(enforce_csrf_checks=True, headers={"user-agent": BROWSER_USER_AGENT})
    by_jwt = program.patch(path, HTTP_AUTHORIZATION=f"Bearer {jwt_for(tenant_a.admin)}", **body)
    assert by_jwt.status_code == 200
    assert Property.unscoped.get(pk=tenant_a.property.pk).name == "By session"


def test_a_forged_jwt_is_refused(tenant_a):
    token = jwt_for(tenant_a.owner)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = member_call("get", "/v1/properties", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"retention_days": "30"}, "retention_days"),
        ({"retention_days": True}, "retention_days"),
        ({"ingest_limit_per_key": 1.5}, "ingest_limit_per_key"),
        ({"allowed_origins": "https://example.com"}, "allowed_origins"),
        ({"allowed_origins": [42]}, "allowed_origins"),
        ({"timezone": 0}, "timezone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"allowed_origins": ["https://[x"]}, "allowed_origins"),
        ({"allowed_origins": ["https://example.com:99999"]}, "allowed_origins"),
    ],
)
def test_a_change_of_the_wrong_json_type_or_shape_is_a_400_never_coerced_or_a_500(tenant_a, fields, field):
    response = member_call("patch", property_path(tenant_a.property.public_id), user=tenant_a.admin, body=fields)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
