"""The tenancy issue's acceptance check, end to end through the public doors only.

Two organisations are created through sign-up; each owner creates a property and invites an admin
and a viewer, who join through the emailed links; then each member tries the other organisation's
doors (API with JWTs and keys, reports, admin) and the rules inside their own.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Invitation
from apps.keys import selectors as key_selectors
from apps.keys.models import ApiKey
from apps.properties.models import Property
from devtools.stack import BROWSER_USER_AGENT

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "tidal copper lantern 58"
LINK = re.compile(r"http://testserver(/invitations/[^\s]+)")


@dataclass
class Member:
    email: str
    access: str = ""
    session: Client = field(default_factory=lambda: Client(headers={"user-agent": BROWSER_USER_AGENT}))

    def api(self, method: str, path: str, body: dict | None = None, bearer: str | None = None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {bearer or self.access}"}
        if body is None:
            return getattr(Client(), method)(path, **headers)
        return getattr(Client(), method)(path, json.dumps(body), content_type="application/json", **headers)


@dataclass
class Team:
    owner: Member
    admin: Member
    viewer: Member
    organization_id: str = ""
    property_id: str = ""
    keys: dict = field(default_factory=dict)
    invitation_links: list = field(default_factory=list)


def sign_in_for_api(member: Member) -> None:
    response = Client().post(
        "/v1/auth/token", json.dumps({"email": member.email, "password": PASSWORD}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    member.access = response.json()["access"]
    assert member.session.post("/login", {"username": member.email, "password": PASSWORD}).status_code == 302


def team_create(name: str) -> Team:
    slug = name.lower()
    team = Team(*(Member(f"{role}@{slug}.example") for role in ("owner", "admin", "viewer")))
    signed_up = team.owner.session.post(
        "/signup",
        {"email": team.owner.email, "password": PASSWORD, "password_confirm": PASSWORD, "organization_name": name},
    )
    assert signed_up.status_code == 302, signed_up.content
    sign_in_for_api(team.owner)
    [organization] = team.owner.api("get", "/v1/organizations").json()
    assert organization["role"] == "owner"
    team.organization_id = organization["id"]

    created = team.owner.api("post", "/v1/properties", {"organization": team.organization_id, "name": f"{name} site"})
    assert created.status_code == 201, created.content
    team.property_id = created.json()["id"]
    team.keys = {key["kind"]: key for key in created.json()["keys"]}

    for member, role in ((team.admin, "admin"), (team.viewer, "viewer")):
        mail.outbox.clear()
        invited = team.owner.api(
            "post", f"/v1/organizations/{team.organization_id}/members", {"email": member.email, "role": role}
        )
        assert invited.status_code == 201, invited.content
        [link] = LINK.findall(mail.outbox[0].body)
        team.invitation_links.append(link)
        joined = member.session.post(link, {"password": PASSWORD, "password_confirm": PASSWORD})
        assert joined.status_code == 302, joined.content
        sign_in_for_api(member)
    return team


def members_of(team: Team) -> list[Member]:
    return [team.owner, team.admin, team.viewer]


def test_two_signed_up_organisations_cannot_reach_each_other_and_roles_hold():
    acme, bolt = team_create("Acme"), team_create("Bolt")
    roster = acme.owner.api("get", f"/v1/organizations/{acme.organization_id}/members").json()
    assert sorted((row["email"], row["role"]) for row in roster) == sorted(
        [(acme.owner.email, "owner"), (acme.admin.email, "admin"), (acme.viewer.email, "viewer")]
    )

    theirs, missing = f"/v1/properties/{bolt.property_id}", "/v1/properties/prop_doesnotexist0000"
    bolt_key_id = bolt.keys["read"]["id"]
    for member in members_of(acme):
        for suffix, methods in (
            ("", ("get", "patch", "delete")),
            ("/overview", ("get",)),
            ("/metrics", ("get",)),
            ("/keys", ("get", "post")),
            (f"/keys/{bolt_key_id}", ("get", "delete")),
            (f"/keys/{bolt_key_id}/rotate", ("post",)),
        ):
            for method in methods:
                body = {} if method in ("post", "patch") else None
                answer, expected = member.api(method, theirs + suffix, body), member.api(method, missing + suffix, body)
                assert (answer.status_code, answer.content.replace(bolt.property_id.encode(), b"")) == (
                    expected.status_code,
                    expected.content.replace(b"prop_doesnotexist0000", b""),
                ), (member.email, method, suffix)
                assert answer.status_code == 404
        assert member.api("get", f"/v1/organizations/{bolt.organization_id}/members").status_code == 404
        listed = member.api("get", "/v1/properties").json()
        assert [prop["id"] for prop in listed] == [acme.property_id]
        for property_id, status in ((bolt.property_id, 404), (acme.property_id, 200)):
            pk = Property.unscoped.get(public_id=property_id).pk
            page = member.session.get(f"/admin/properties/property/{pk}/change/")
            assert page.status_code == (302 if member is acme.viewer else status)  # viewers cannot enter the admin
        assert bolt.property_id not in member.session.get("/").content.decode()

    acme_read_key = acme.keys["read"]["secret"]
    assert acme.owner.api("get", f"{theirs}/overview", bearer=acme_read_key).status_code == 404
    assert acme.owner.api("get", f"/v1/properties/{acme.property_id}/overview", bearer=acme_read_key).status_code == 200

    own = f"/v1/properties/{acme.property_id}"
    viewer, admin = acme.viewer, acme.admin
    assert viewer.api("get", own).status_code == 200
    assert viewer.api("patch", own, {"name": "Mine now"}).status_code == 403
    assert viewer.api("post", f"{own}/keys", {"kind": "read"}).status_code == 403
    assert viewer.api("delete", own).status_code == 403
    owner_membership = next(row["id"] for row in roster if row["role"] == "owner")
    members_path = f"/v1/organizations/{acme.organization_id}/members"
    assert viewer.api("post", members_path, {"email": "x@acme.example", "role": "owner"}).status_code == 403
    assert admin.api("delete", f"{members_path}/{owner_membership}").status_code == 403
    assert admin.api("patch", f"{members_path}/{owner_membership}", {"role": "viewer"}).status_code == 403
    assert acme.owner.api("delete", f"{members_path}/{owner_membership}").json()["error"]["code"] == "last_owner"

    for link in acme.invitation_links:  # used once already
        assert Client().get(link).status_code == 404
    mail.outbox.clear()
    acme.owner.api("post", members_path, {"email": "late@acme.example", "role": "viewer"})
    [late_link] = LINK.findall(mail.outbox[0].body)
    Invitation.unscoped.filter(email="late@acme.example").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(late_link).status_code == 404

    rotated = admin.api("post", f"{own}/keys/{acme.keys['read']['id']}/rotate")
    assert rotated.status_code == 201
    new_read_key = rotated.json()["secret"]
    key_selectors._cache.clear()
    assert admin.api("get", f"{own}/overview", bearer=acme_read_key).status_code == 200, "within the grace period"
    ApiKey.unscoped.filter(pk=acme.keys["read"]["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    key_selectors._cache.clear()
    assert admin.api("get", f"{own}/overview", bearer=acme_read_key).status_code == 401, "after the grace period"
    assert admin.api("get", f"{own}/overview", bearer=new_read_key).status_code == 200
    assert admin.api("delete", f"{own}/keys/{rotated.json()['id']}").status_code == 204
    key_selectors._cache.clear()
    assert admin.api("get", f"{own}/overview", bearer=new_read_key).status_code == 401, "revoked"
