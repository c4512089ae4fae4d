"""Organisations, members and invitations over the API: roles, the last owner, and tenant isolation."""

import json
import re

import pytest
from django.core import mail
from django.test import Client

from apps.accounts.models import Invitation, Membership, Organization
from apps.accounts.services import InvalidInvitation, invitation_accept, invitation_resolve
from apps.core.tenancy import Role
from tests.conftest import jwt_for, session_client_for
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = (Role.OWNER, Role.ADMIN, Role.VIEWER)
MISSING_ORGANIZATION = "org_doesnotexist00000"
MISSING_NUMBER = "987654321"


def api(user, method, path, body=None):
    client = Client(headers={"authorization": f"Bearer {jwt_for(user)}"})
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def org_path(tenant, suffix=""):
    return f"/v1/organizations/{tenant.organization.public_id}{suffix}"


def membership_of(user, tenant) -> Membership:
    return Membership.unscoped.get(user=user, organization=tenant.organization)


def invitation_for(tenant, email="invitee@example.net") -> Invitation:
    return Invitation.unscoped.create(
        organization=tenant.organization, email=email, role=Role.VIEWER, expires_at="2999-01-01T00:00:00Z"
    )


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


# --- Organisations ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_list_holds_the_callers_organisations_with_their_role(tenant_a, tenant_b, role):
    response = api(tenant_a.member(role), "get", "/v1/organizations")
    assert response.status_code == 200
    organization = tenant_a.organization
    assert response.json() == [
        {
            "id": organization.public_id,
            "name": organization.name,
            "role": role,
            "created_at": organization.created_at.isoformat().replace("+00:00", "Z"),
        }
    ]


def test_a_member_of_two_organisations_lists_both(tenant_a, tenant_b):
    MembershipFactory(user=tenant_a.viewer, organization=tenant_b.organization, role=Role.ADMIN)
    results = api(tenant_a.viewer, "get", "/v1/organizations").json()
    assert {(org["id"], org["role"]) for org in results} == {
        (tenant_a.organization.public_id, Role.VIEWER),
        (tenant_b.organization.public_id, Role.ADMIN),
    }


def test_creating_an_organisation_makes_the_caller_its_owner(tenant_a):
    response = api(tenant_a.viewer, "post", "/v1/organizations", {"name": "  Side project  "})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Side project" and body["role"] == Role.OWNER and body["id"].startswith("org_")
    created = Organization.unscoped.get(public_id=body["id"])
    assert Membership.unscoped.get(user=tenant_a.viewer, organization=created).role == Role.OWNER
    assert body in api(tenant_a.viewer, "get", "/v1/organizations").json()
    assert api(tenant_a.viewer, "get", f"/v1/organizations/{body['id']}").json() == body


@pytest.mark.parametrize("body", [{}, {"name": "   "}])
def test_an_organisation_needs_a_name(tenant_a, body):
    response = api(tenant_a.owner, "post", "/v1/organizations", body)
    assert_error(response, 400, "invalid_parameter")
    assert response.json()["error"]["field"] == "name"


@pytest.mark.parametrize("name", [0, 1.5, True, ["Acme"], {"name": "Acme"}])
def test_an_organisation_name_must_be_a_json_string_not_a_number_coerced_to_one(tenant_a, name):
    response = api(tenant_a.owner, "post", "/v1/organizations", {"name": name})
    assert_error(response, 400, "invalid_parameter")
    assert response.json()["error"] == {
        **response.json()["error"],
        "field": "name",
        "message": "name must be a string.",
    }
    assert not Organization.unscoped.filter(name=str(name)).exists()


def test_a_rename_without_a_name_changes_nothing(tenant_a):
    response = api(tenant_a.owner, "patch", org_path(tenant_a), {})
    assert response.status_code == 200 and response.json()["name"] == tenant_a.organization.name


@pytest.mark.parametrize("role", ROLES)
def test_every_member_sees_the_organisation(tenant_a, role):
    response = api(tenant_a.member(role), "get", org_path(tenant_a))
    assert response.status_code == 200
    assert response.json()["id"] == tenant_a.organization.public_id
    assert response.json()["role"] == role


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 403), (Role.VIEWER, 403)])
def test_only_the_owner_renames(tenant_a, role, status):
    response = api(tenant_a.member(role), "patch", org_path(tenant_a), {"name": "Renamed"})
    assert response.status_code == status
    tenant_a.organization.refresh_from_db()
    assert (tenant_a.organization.name == "Renamed") == (status == 200)
    if status == 200:
        assert response.json()["name"] == "Renamed" and response.json()["role"] == Role.OWNER
    else:
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 204), (Role.ADMIN, 403), (Role.VIEWER, 403)])
def test_only_the_owner_deletes(tenant_a, role, status):
    response = api(tenant_a.member(role), "delete", org_path(tenant_a))
    assert response.status_code == status
    assert Organization.unscoped.filter(pk=tenant_a.organization.pk).exists() == (status != 204)


# --- Members ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_lists_the_members(tenant_a, tenant_b, role):
    response = api(tenant_a.member(role), "get", org_path(tenant_a, "/members"))
    assert response.status_code == 200
    results = response.json()
    assert {(member["email"], member["role"]) for member in results} == {(tenant_a.member(r).email, r) for r in ROLES}
    owner = next(member for member in results if member["role"] == Role.OWNER)
    assert owner["id"] == membership_of(tenant_a.owner, tenant_a).pk
    assert set(owner) == {"id", "email", "role", "joined_at"}


def test_the_owner_invites_by_email_and_the_accepted_invitee_becomes_a_member(
    tenant_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(
            tenant_a.owner, "post", org_path(tenant_a, "/members"), {"email": "New@Example.net", "role": "admin"}
        )
    assert response.status_code == 201
    body = response.json()
    invitation = Invitation.unscoped.get(pk=body["id"])
    mail_fields = {"mail_status", "mail_attempts", "mail_sent_at"}
    assert set(body) == {"id", "email", "role", "created_at", "expires_at"} | mail_fields
    assert body["email"] == "new@example.net" and body["role"] == Role.ADMIN

    [sent] = mail.outbox
    assert sent.to == ["new@example.net"]
    link = re.search(r"http://testserver/invitations/(\S+)", sent.body)
    assert link is not None, sent.body
    token = link.group(1)
    assert token not in response.content.decode()
    assert invitation_resolve(token) == invitation

    pending = api(tenant_a.viewer, "get", org_path(tenant_a, "/invitations")).json()
    assert [entry["id"] for entry in pending] == [invitation.pk]

    invitee = UserFactory(email="new@example.net")
    invitation_accept(token=token, user=invitee)
    members = api(tenant_a.viewer, "get", org_path(tenant_a, "/members")).json()
    assert ("new@example.net", Role.ADMIN) in {(member["email"], member["role"]) for member in members}
    assert api(tenant_a.viewer, "get", org_path(tenant_a, "/invitations")).json() == []


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
def test_only_the_owner_invites(tenant_a, role, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(tenant_a.member(role), "post", org_path(tenant_a, "/members"), {"email": "x@example.net"})
    assert_error(response, 403, "permission_denied")
    assert not Invitation.unscoped.exists() and mail.outbox == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "viewer"}, "email"),
        ({"email": "no-at-sign"}, "email"),
        ({"email": "x@example.net", "role": "god"}, "role"),
    ],
)
def test_an_invitation_needs_an_email_and_a_known_role(tenant_a, body, field):
    response = api(tenant_a.owner, "post", org_path(tenant_a, "/members"), body)
    assert_error(response, 400, "invalid_parameter")
    assert response.json()["error"]["field"] == field


def test_inviting_a_member_again_is_a_conflict(tenant_a):
    response = api(tenant_a.owner, "post", org_path(tenant_a, "/members"), {"email": tenant_a.viewer.email})
    assert_error(response, 409, "already_member")


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 204), (Role.ADMIN, 403), (Role.VIEWER, 403)])
def test_only_the_owner_withdraws_an_invitation_and_its_link_dies(tenant_a, role, status):
    invitation = invitation_for(tenant_a)
    response = api(tenant_a.member(role), "delete", org_path(tenant_a, f"/invitations/{invitation.pk}"))
    assert response.status_code == status
    invitation.refresh_from_db()
    assert (invitation.revoked_at is not None) == (status == 204)
    if status == 204:
        assert api(tenant_a.owner, "get", org_path(tenant_a, "/invitations")).json() == []
        assert_error(
            api(tenant_a.owner, "delete", org_path(tenant_a, f"/invitations/{invitation.pk}")), 404, "not_found"
        )


def test_a_withdrawn_invitations_link_no_longer_works(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api(tenant_a.owner, "post", org_path(tenant_a, "/members"), {"email": "late@example.net"})
    token = re.search(r"/invitations/(\S+)", mail.outbox[0].body).group(1)
    invitation = Invitation.unscoped.get(email="late@example.net")
    assert api(tenant_a.owner, "delete", org_path(tenant_a, f"/invitations/{invitation.pk}")).status_code == 204
    with pytest.raises(InvalidInvitation):
        invitation_accept(token=token, user=UserFactory(email="late@example.net"))


@pytest.mark.parametrize(("role", "status"), [(Role.OWNER, 200), (Role.ADMIN, 403), (Role.VIEWER, 403)])
def test_only_the_owner_changes_a_role(tenant_a, role, status):
    target = membership_of(tenant_a.viewer, tenant_a)
    response = api(tenant_a.member(role), "patch", org_path(tenant_a, f"/members/{target.pk}"), {"role": "admin"})
    assert response.status_code == status
    target.refresh_from_db()
    assert (target.role == Role.ADMIN) == (status == 200)
    if status == 200:
        assert response.json() == {
            "id": target.pk,
            "email": tenant_a.viewer.email,
            "role": Role.ADMIN,
            "joined_at": target.created_at.isoformat().replace("+00:00", "Z"),
        }


def test_an_admin_can_neither_demote_nor_remove_the_owner(tenant_a):
    owner = membership_of(tenant_a.owner, tenant_a)
    path = org_path(tenant_a, f"/members/{owner.pk}")
    assert_error(api(tenant_a.admin, "patch", path, {"role": "viewer"}), 403, "permission_denied")
    assert_error(api(tenant_a.admin, "delete", path), 403, "permission_denied")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_unknown_role_is_refused(tenant_a):
    target = membership_of(tenant_a.viewer, tenant_a)
    response = api(tenant_a.owner, "patch", org_path(tenant_a, f"/members/{target.pk}"), {"role": "superuser"})
    assert_error(response, 400, "invalid_parameter")
    assert response.json()["error"]["field"] == "role"


@pytest.mark.parametrize(
    ("actor", "target", "status"),
    [
        (Role.OWNER, Role.VIEWER, 204),
        (Role.OWNER, Role.ADMIN, 204),
        (Role.ADMIN, Role.VIEWER, 403),
        (Role.VIEWER, Role.ADMIN, 403),
        (Role.ADMIN, Role.ADMIN, 204),
        (Role.VIEWER, Role.VIEWER, 204),
    ],
)
def test_the_owner_removes_members_and_anyone_may_leave(tenant_a, actor, target, status):
    membership = membership_of(tenant_a.member(target), tenant_a)
    response = api(tenant_a.member(actor), "delete", org_path(tenant_a, f"/members/{membership.pk}"))
    assert response.status_code == status
    assert Membership.unscoped.filter(pk=membership.pk).exists() == (status != 204)


def test_the_last_owner_can_neither_leave_nor_step_down_until_there_is_another(tenant_a):
    owner = membership_of(tenant_a.owner, tenant_a)
    path = org_path(tenant_a, f"/members/{owner.pk}")
    assert_error(api(tenant_a.owner, "patch", path, {"role": "admin"}), 409, "last_owner")
    assert_error(api(tenant_a.owner, "delete", path), 409, "last_owner")

    admin = membership_of(tenant_a.admin, tenant_a)
    promoted = api(tenant_a.owner, "patch", org_path(tenant_a, f"/members/{admin.pk}"), {"role": "owner"})
    assert promoted.status_code == 200
    assert api(tenant_a.owner, "patch", path, {"role": "admin"}).status_code == 200
    assert api(tenant_a.owner, "delete", path).status_code == 204


@pytest.mark.parametrize("path", ["/v1/organizations", f"/v1/organizations/{MISSING_ORGANIZATION}/members"])
def test_anonymous_callers_are_asked_to_authenticate(client, db, path):
    assert_error(client.get(path), 401, "not_authenticated")


def test_a_browser_session_reads_the_same_api(tenant_a):
    response = session_client_for(tenant_a.viewer).get("/v1/organizations")
    assert response.status_code == 200
    assert response.json()[0]["id"] == tenant_a.organization.public_id


# --- Isolation: another organisation's ids answer exactly like missing ones ---------------------

REQUESTS = [
    ("get", "{org}", None),
    ("patch", "{org}", {"name": "taken over"}),
    ("delete", "{org}", None),
    ("get", "{org}/members", None),
    ("post", "{org}/members", {"email": "spy@example.net", "role": "owner"}),
    ("patch", "{org}/members/{member}", {"role": "owner"}),
    ("delete", "{org}/members/{member}", None),
    ("get", "{org}/invitations", None),
    ("delete", "{org}/invitations/{invitation}", None),
]


def b_rows(tenant_b, invitation):
    return (
        list(Organization.unscoped.filter(pk=tenant_b.organization.pk).values()),
        list(Membership.unscoped.filter(organization=tenant_b.organization).values()),
        list(Invitation.unscoped.filter(pk=invitation.pk).values()),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "template", "body"), REQUESTS)
def test_another_organisations_ids_answer_like_missing_ones(
    tenant_a, tenant_b, role, method, template, body, django_capture_on_commit_callbacks
):
    b_invitation = invitation_for(tenant_b)
    b_member = membership_of(tenant_b.viewer, tenant_b)
    before = b_rows(tenant_b, b_invitation)
    member = tenant_a.member(role)

    def answer(org, member_id, invitation_id):
        path = "/v1/organizations/" + template.format(org=org, member=member_id, invitation=invitation_id)
        with django_capture_on_commit_callbacks(execute=True):
            response = api(member, method, path, body)
        return response.status_code, response.content

    missing = answer(MISSING_ORGANIZATION, MISSING_NUMBER, MISSING_NUMBER)
    assert missing[0] == 404
    assert answer(tenant_b.organization.public_id, b_member.pk, b_invitation.pk) == missing
    if "{member}" in template or "{invitation}" in template:
        # A's own organisation with B's member or invitation: the same as an id that does not exist.
        a_org = tenant_a.organization.public_id
        assert answer(a_org, b_member.pk, b_invitation.pk) == answer(a_org, MISSING_NUMBER, MISSING_NUMBER)
        for malformed in ("not-a-number", "99999999999999999999"):
            assert answer(a_org, malformed, malformed) == answer(a_org, MISSING_NUMBER, MISSING_NUMBER)
    assert b_rows(tenant_b, b_invitation) == before
    assert Invitation.unscoped.count() == 1 and mail.outbox == []
