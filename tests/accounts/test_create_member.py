import re
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from apps.accounts.models import Membership, Organization, User
from apps.core.tenancy import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quartz lantern orbit 47"


def create_member(*args: str) -> str:
    out = StringIO()
    call_command("create_member", *args, stdout=out)
    return out.getvalue()


def test_creates_the_organisation_and_a_user_without_password_and_says_how_to_choose_one(client):
    output = create_member("--org", "Acme", "--email", "Ada@Example.com", "--role", "owner")
    organization = Organization.unscoped.get(name="Acme")
    user = User.objects.get(email="ada@example.com")
    assert not user.has_usable_password()
    assert Membership.unscoped.get(user=user).organization == organization
    assert Membership.unscoped.get(user=user).role == Role.OWNER
    assert f"organisation: Acme ({organization.public_id})" in output
    assert "user: ada@example.com (created)" in output
    assert "role: owner" in output
    assert "no password yet" in output and "/password-reset" in output

    client.post("/password-reset", {"email": "ada@example.com"})
    link = re.search(r"http://testserver(/password-reset/\S+)", mail.outbox[0].body).group(1)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.post("/login", {"username": "ada@example.com", "password": NEW_PASSWORD})["Location"] == "/"


def test_a_new_user_with_a_password_can_sign_in(client):
    output = create_member(
        "--org", "Acme", "--email", "ada@example.com", "--role", "viewer", "--password", NEW_PASSWORD
    )
    assert "no password yet" not in output
    assert client.post("/login", {"username": "ada@example.com", "password": NEW_PASSWORD})["Location"] == "/"


def test_adds_an_existing_user_to_an_existing_organisation_without_touching_the_password(tenant_a):
    user = UserFactory(email="bob@example.com")
    organizations_before = Organization.unscoped.count()
    output = create_member(
        "--org", tenant_a.organization.name, "--email", "bob@example.com", "--role", "admin", "--password", NEW_PASSWORD
    )
    assert Organization.unscoped.count() == organizations_before
    assert Membership.unscoped.get(user=user, organization=tenant_a.organization).role == Role.ADMIN
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert "user: bob@example.com (existing)" in output
    assert "password: unchanged" in output


def test_changes_an_existing_members_role_and_says_what_it_was(tenant_a):
    output = create_member("--org", tenant_a.organization.name, "--email", tenant_a.viewer.email, "--role", "admin")
    assert Membership.unscoped.get(user=tenant_a.viewer, organization=tenant_a.organization).role == Role.ADMIN
    assert "role: admin (was viewer)" in output


def test_refuses_to_demote_the_last_owner(tenant_a):
    with pytest.raises(CommandError, match="last owner"):
        create_member("--org", tenant_a.organization.name, "--email", tenant_a.owner.email, "--role", "viewer")
    assert Membership.unscoped.get(user=tenant_a.owner, organization=tenant_a.organization).role == Role.OWNER


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "superhero"], "role must be one of owner, admin, viewer"),
        (["--role", "owner", "--password", "password"], "This password is too common."),
        (["--role", "owner", "--email", "not an email"], "Enter a valid email address."),
    ],
)
def test_refuses_bad_input_and_creates_nothing(args, message):
    base = {"--org": "Acme", "--email": "ada@example.com"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    with pytest.raises(CommandError, match=message):
        create_member(*[part for pair in base.items() for part in pair])
    assert not Organization.unscoped.filter(name="Acme").exists()
    assert not User.objects.exists()
