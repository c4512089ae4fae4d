"""Tenant isolation over every URL pattern of the project, present and future.

Every route is enumerated from the URL resolver: the API, the HTML pages and the admin. A route
that names a tenant's object (a property, organisation, member, invitation, key, or any admin
object) is called with every method and every credential organisation A has (anonymous, its write
and read keys, a JWT and a session for each role) twice: with B's identifier and with one that
does not exist. The two answers must be the same (status, redirect and body with the identifiers
taken out): nothing of B is visible, changeable or even confirmed to exist. A route without such a
parameter must not show any of B's names or identifiers to A. B's rows must be untouched afterwards.

A route with a parameter this file does not know fails the suite until someone says what it is.
"""

import json
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from apps.accounts.models import Invitation, Membership, Organization, User
from apps.core.tenancy import TenantQuerySet
from apps.imports.models import Import
from apps.ingestion.models import DroppedEvents, SubjectRequest
from apps.keys.models import ApiKey
from apps.properties.models import Property, PropertyDomain
from apps.properties.services import property_update
from apps.reports.funnels.services import funnel_create
from apps.reports.goals.services import goal_create
from apps.reports.models import Funnel, Goal, SharedLink
from apps.reports.shared_links.services import shared_link_create
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import jwt_for, session_client_for, tenant_create, url_patterns

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
ROLES = ("owner", "admin", "viewer")
MISSING_NUMBER = "987654321"
MISSING_PUBLIC_ID = {"property_id": "prop_doesnotexist0000", "organization_id": "org_doesnotexist00000"}

# Parameters that are not a tenant's identifier, and why they need no cross-tenant probe here.
NOT_TENANT_PARAMETERS = {
    "version": "the beacon script's version: public, the same for everyone",
    "token": "a signed capability link (invitation or password reset), checked by its own tests",
    "uidb64": "the password reset link's user part, only valid with its signed token",
    "app_label": "the admin's index of one app: lists only what the list pages show",
    "url": "the admin's catch-all for unknown admin paths",
    "content_type_id": "the admin's view-on-site shortcut: test_admin_view_on_site_shortcut_confirms_nothing",
    "panel": "a dashboard breakdown's name (pages, countries...): the same for every property",
    "table": "the name of a dashboard table to export as CSV (series, a breakdown): the same for every property",
    "session_id": "a visit's day and key, looked up only among the events of the property named beside it",
}


PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def parameters(route: str) -> list[str]:
    return [a or b for a, b in PARAMETER.findall(route)]


def admin_model(route: str):
    """The model of an admin object route like `admin/keys/apikey/<path:object_id>/change/`."""
    match = re.match(r"\^?admin/(\w+)/(\w+)/", route)
    if match is None:
        return None
    return next(
        (model for model in admin.site._registry if (model._meta.app_label, model._meta.model_name) == match.groups()),
        None,
    )


# How admin routes name the object (the user admin's password page says `id`).
ADMIN_OBJECT_PARAMETERS = {"object_id", "id"}
# The models a tenant's rows live in (User: a member's account), each with a row per tenant below.
TENANT_MODELS = (
    Organization,
    Membership,
    Invitation,
    Property,
    PropertyDomain,
    ApiKey,
    DroppedEvents,
    SharedLink,
    Goal,
    Funnel,
    Import,
    SubjectRequest,
    User,
)

ALL_ROUTES = [route for route, _ in url_patterns()]
OBJECT_ROUTES = [
    route
    for route in ALL_ROUTES
    if set(parameters(route)) - set(NOT_TENANT_PARAMETERS) - ADMIN_OBJECT_PARAMETERS
    or (ADMIN_OBJECT_PARAMETERS & set(parameters(route)) and admin_model(route) in TENANT_MODELS)
]
PLAIN_ROUTES = [route for route in ALL_ROUTES if not parameters(route)]


@dataclass
class Credential:
    name: str
    client: Client
    headers: dict


def credentials_of(tenant) -> list[Credential]:
    browser = {"HTTP_USER_AGENT": BROWSER_USER_AGENT}
    found = [
        Credential("anonymous", Client(**browser), {}),
        Credential("read_key", Client(**browser), {"HTTP_AUTHORIZATION": f"Bearer {tenant.read_key}"}),
        Credential("write_key", Client(**browser), {"HTTP_AUTHORIZATION": f"Bearer {tenant.write_key}"}),
    ]
    for role in ROLES:
        member = tenant.member(role)
        found.append(Credential(f"{role}_jwt", Client(**browser), {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(member)}"}))
        found.append(Credential(f"{role}_session", session_client_for(member), {}))
    return found


def tenant_objects(tenant) -> dict:
    """One row of every tenant model belonging to `tenant`, keyed by model."""
    invitation = Invitation.unscoped.create(
        organization=tenant.organization,
        email=f"invitee-{tenant.organization.public_id}@example.net",
        role="viewer",
        expires_at="2999-01-01T00:00:00Z",
    )
    dropped = DroppedEvents.unscoped.create(property=tenant.property, day="2026-01-01", reason="bot", count=3)
    shared_link, _ = shared_link_create(property=tenant.property, name="board", password="open sesame")
    goal = goal_create(property=tenant.property, name="Pricing", kind="pageview", path_pattern="/pricing")
    steps = [{"kind": "page", "value": "/"}, {"kind": "goal", "value": "Pricing"}]
    funnel = funnel_create(property=tenant.property, name="To pricing", steps=steps)
    property_update(property=tenant.property, domains=[f"{tenant.property.public_id.replace('_', '-')}.example"])
    return {
        Organization: tenant.organization,
        Membership: Membership.unscoped.get(user=tenant.viewer, organization=tenant.organization),
        Invitation: invitation,
        Property: tenant.property,
        PropertyDomain: tenant.property.domain_rows.get(),
        ApiKey: tenant.property.api_keys.order_by("pk").first(),
        DroppedEvents: dropped,
        SharedLink: shared_link,
        Goal: goal,
        Funnel: funnel,
        Import: Import.unscoped.create(
            property=tenant.property, source="clickmeter", file="imports/a.ndjson", name="a"
        ),
        SubjectRequest: SubjectRequest.unscoped.create(
            property=tenant.property, kind="erasure", subject_hash="0" * 64, requested_by="test"
        ),
        User: tenant.viewer,
    }


def parameter_values(route: str, objects: dict, *, missing: bool) -> dict[str, str]:
    """The identifier of `objects`' row (or of no row) for each tenant parameter of `route`."""
    by_parameter = {
        "property_id": lambda: objects[Property].public_id,
        "organization_id": lambda: objects[Organization].public_id,
        "member_id": lambda: str(objects[Membership].pk),
        "invitation_id": lambda: str(objects[Invitation].pk),
        "key_id": lambda: str(objects[ApiKey].pk),
        "shared_link_id": lambda: str(objects[SharedLink].pk),
        "goal_id": lambda: str(objects[Goal].pk),
        "funnel_id": lambda: str(objects[Funnel].pk),
        **dict.fromkeys(ADMIN_OBJECT_PARAMETERS, lambda: str(objects[admin_model(route)].pk)),
    }
    if ADMIN_OBJECT_PARAMETERS & set(parameters(route)) and admin_model(route) not in TENANT_MODELS:
        return dict.fromkeys(parameters(route), "1")  # see test_admin_models_outside_the_tenant_models_…
    values = {}
    for name in parameters(route):
        if name in NOT_TENANT_PARAMETERS:
            values[name] = "1"
            continue
        assert name in by_parameter, (
            f"{route}: unknown URL parameter {name!r}. Say how to name organisation B's object for it in "
            "parameter_values(), or why it is not a tenant's identifier in NOT_TENANT_PARAMETERS."
        )
        values[name] = MISSING_PUBLIC_ID.get(name, MISSING_NUMBER) if missing else by_parameter[name]()
    return values


def path_for(route: str, values: dict[str, str]) -> str:
    path = PARAMETER.sub(lambda m: values[m.group(1) or m.group(2)], route)
    return "/" + path.lstrip("^").rstrip("$")


def call(credential: Credential, method: str, path: str):
    if method in ("get", "delete"):
        return getattr(credential.client, method)(path, **credential.headers)
    return getattr(credential.client, method)(
        path,
        data=json.dumps({"name": "renamed", "role": "owner"}),
        content_type="application/json",
        **credential.headers,
    )


CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def comparable(response, identifiers: list[str]) -> tuple:
    """Status, redirect and body of a response with each identifier (as a whole token) masked."""
    body = CSRF_TOKEN.sub(b"", response.content).decode(errors="replace")
    location = response.get("Location", "")
    for identifier in identifiers:
        token = re.compile(rf"(?<![\w-]){re.escape(identifier)}(?![\w-])")
        body, location = token.sub("<id>", body), token.sub("<id>", location)
    return response.status_code, location, body


def rows_snapshot(objects: dict) -> dict:
    return {model: model._default_manager.filter(pk=row.pk).values().first() for model, row in objects.items() if row}


def test_every_url_parameter_is_known_and_object_routes_exist():
    assert len(OBJECT_ROUTES) >= 20, OBJECT_ROUTES  # the API's and the admin's object routes at least
    for route in ALL_ROUTES:
        parameter_values(route, {}, missing=True)


def test_admin_models_outside_the_tenant_models_are_for_superusers_only():
    """A model registered in admin later is either a tenant model probed above or closed to members."""
    tenant_a = tenant_create()
    for model in admin.site._registry:
        if model in TENANT_MODELS[:-1]:
            continue
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for role in ROLES:
            status = session_client_for(tenant_a.member(role)).get(path).status_code
            assert status in (302, 403), (role, path, status)


@pytest.mark.parametrize("model", TENANT_MODELS)
def test_admin_view_on_site_shortcut_confirms_nothing(model):
    tenant_a, tenant_b = tenant_create(), tenant_create()
    theirs = tenant_objects(tenant_b)[model]
    content_type = ContentType.objects.get_for_model(model)
    for credential in credentials_of(tenant_a):
        answer_theirs = call(credential, "get", f"/admin/r/{content_type.pk}/{theirs.pk}/")
        answer_missing = call(credential, "get", f"/admin/r/{content_type.pk}/{MISSING_NUMBER}/")
        identifiers = [str(theirs.pk), MISSING_NUMBER]
        assert comparable(answer_theirs, identifiers) == comparable(answer_missing, identifiers), credential.name


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_another_organisations_object_is_indistinguishable_from_none(route):
    tenant_a, tenant_b = tenant_create(), tenant_create()
    theirs_objects = tenant_objects(tenant_b)
    tenant_objects(tenant_a)
    before = rows_snapshot(theirs_objects)
    theirs = path_for(route, parameter_values(route, theirs_objects, missing=False))
    missing = path_for(route, parameter_values(route, theirs_objects, missing=True))
    identifiers = sorted(
        {*parameter_values(route, theirs_objects, missing=False).values()}
        | {*parameter_values(route, theirs_objects, missing=True).values()},
        key=len,
        reverse=True,
    )
    for credential in credentials_of(tenant_a):
        for method in METHODS:
            answer_theirs = call(credential, method, theirs)
            answer_missing = call(credential, method, missing)
            where = (credential.name, method.upper(), theirs)
            assert comparable(answer_theirs, identifiers) == comparable(answer_missing, identifiers), where
            assert not 200 <= answer_theirs.status_code < 300, where
    assert rows_snapshot(theirs_objects) == before, f"{route}: organisation B's rows changed"


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_own_object_is_reachable_so_the_check_above_can_fail(route):
    tenant_a = tenant_create()
    own = path_for(route, parameter_values(route, tenant_objects(tenant_a), missing=False))
    answers = {
        (credential.name, method): call(credential, method, own).status_code
        for credential in credentials_of(tenant_a)
        for method in ("get", "post")
    }
    assert any(status != 404 and status < 500 for status in answers.values()), (route, answers)
    assert 500 not in answers.values(), (route, answers)


def markers_of(tenant, objects: dict) -> list[str]:
    """Strings that would give one of `tenant`'s rows away if they appeared in a page."""
    return [
        tenant.organization.name,
        tenant.organization.public_id,
        tenant.property.name,
        tenant.property.public_id,
        *(key.prefix for key in tenant.property.api_keys.all()),
        *tenant.property.domains,
        *(member.email for member in (tenant.owner, tenant.admin, tenant.viewer)),
        objects[Invitation].email,
    ]


@pytest.fixture
def distinct_tenants():
    tenant_a = tenant_create(name="Alpha Site")
    tenant_b = tenant_create(name="Bravo Secret Site")
    Organization.unscoped.filter(pk=tenant_a.organization.pk).update(name="Alpha Org")
    Organization.unscoped.filter(pk=tenant_b.organization.pk).update(name="Bravo Secret Org")
    tenant_b.organization.refresh_from_db()
    tenant_objects(tenant_a)
    return tenant_a, tenant_b, tenant_objects(tenant_b)


def assert_nothing_of_b(response, markers: list[str], where):
    body = response.content.decode(errors="replace")
    leaked = [marker for marker in markers if marker in body]
    assert not leaked, (where, leaked)


@pytest.mark.parametrize("route", PLAIN_ROUTES)
def test_pages_without_an_identifier_show_nothing_of_another_organisation(route, distinct_tenants):
    tenant_a, tenant_b, objects_b = distinct_tenants
    markers = markers_of(tenant_b, objects_b)
    path = path_for(route, {})
    for credential in credentials_of(tenant_a):
        assert_nothing_of_b(call(credential, "get", path), markers, (credential.name, path))


def autocomplete_requests() -> list[tuple[str, str, str]]:
    """Every autocomplete field of every admin, as (app_label, model_name, field_name)."""
    found = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            found.append((model._meta.app_label, model._meta.model_name, field_name))
        for inline in model_admin.inlines:
            for field_name in inline.autocomplete_fields:
                found.append((inline.model._meta.app_label, inline.model._meta.model_name, field_name))
    return found


@pytest.mark.parametrize(("app_label", "model_name", "field_name"), autocomplete_requests())
def test_admin_autocomplete_offers_nothing_of_another_organisation(app_label, model_name, field_name, distinct_tenants):
    tenant_a, tenant_b, objects_b = distinct_tenants
    markers = markers_of(tenant_b, objects_b)
    query = {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""}
    for role in ROLES:
        response = session_client_for(tenant_a.member(role)).get("/admin/autocomplete/", query)
        assert_nothing_of_b(response, markers, (role, app_label, model_name, field_name))


def test_tenant_models_are_reached_through_the_door():
    """Every model that hangs off an organisation has the scoped manager, so `for_user`/`access` exist."""
    for model in TENANT_MODELS[:-1]:
        assert isinstance(model._default_manager.all(), TenantQuerySet), model


def test_a_superuser_sees_every_organisation_so_the_scoping_is_not_vacuous(distinct_tenants):
    tenant_a, tenant_b, _ = distinct_tenants
    operator = User.objects.create_superuser(email="operator@example.net", password="x" * 20)
    client = session_client_for(operator)
    body = client.get("/admin/properties/property/").content.decode()
    assert tenant_a.property.public_id in body and tenant_b.property.public_id in body
