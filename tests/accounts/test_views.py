import re
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.test import override_settings
from django.utils import timezone

import config.settings as project_settings
from apps.accounts import services
from apps.accounts.models import Invitation, Membership, Organization, User
from apps.core.tenancy import Role
from tests.conftest import session_client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quartz lantern orbit 47"


class _FormAudit(HTMLParser):
    """Collect what accessibility checks need: inputs, labels, forms and their CSRF fields."""

    def __init__(self):
        super().__init__()
        self.inputs, self.label_targets, self.forms, self.html_lang = [], set(), [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        elif tag == "label" and "for" in attrs:
            self.label_targets.add(attrs["for"])
        elif tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get").lower(), "csrf": False})
        elif tag in ("input", "select", "textarea"):
            if attrs.get("name") == "csrfmiddlewaretoken" and self.forms:
                self.forms[-1]["csrf"] = True
            elif attrs.get("type") not in ("hidden", "submit"):
                self.inputs.append(attrs)


def assert_accessible_page(response, title: str) -> str:
    """The page is English, has a skip link, a title naming it, a label on every input, CSRF on every POST form."""
    html = response.content.decode()
    audit = _FormAudit()
    audit.feed(html)
    assert audit.html_lang == "en"
    assert 'href="#main"' in html and 'id="main"' in html
    assert f"<title>{title} · Clickmeter</title>" in html
    for field in audit.inputs:
        assert field.get("id") in audit.label_targets, f"input {field.get('name')} has no label"
    assert all(form["csrf"] for form in audit.forms if form["method"] == "post")
    return html


def signed_in_user(client):
    user = get_user(client)
    return user if user.is_authenticated else None


def sign_up(client, **fields):
    data = {
        "email": "new@example.com",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        "organization_name": "Acme Analytics",
    }
    return client.post("/signup", data | fields)


def invite(tenant, email="invitee@example.com", role=Role.ADMIN) -> tuple[Invitation, str]:
    return services.invitation_create(
        organization=tenant.organization,
        email=email,
        role=role,
        invited_by=tenant.owner,
        site_url="http://testserver/",
    )


# --- Pages for their audience ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/login", "Sign in"),
        ("/signup", "Create an account"),
        ("/password-reset", "Reset your password"),
        ("/password-reset/sent", "Check your email"),
        ("/password-reset/done", "Password set"),
    ],
)
def test_anonymous_pages_render_accessibly(client, path, title):
    response = client.get(path)
    assert response.status_code == 200
    assert_accessible_page(response, title)


@pytest.mark.parametrize("path", ["/", "/account/password", "/account/password/done"])
def test_member_pages_send_anonymous_visitors_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    ("path", "title"),
    [("/", "Properties"), ("/account/password", "Change password"), ("/account/password/done", "Password changed")],
)
def test_member_pages_render_accessibly_when_signed_in(tenant_a, path, title):
    response = session_client_for(tenant_a.viewer).get(path)
    assert response.status_code == 200
    html = assert_accessible_page(response, title)
    assert f"Signed in as {tenant_a.viewer.email}" in html


@pytest.mark.parametrize("path", ["/signup", "/login"])
def test_signed_in_users_are_sent_home_from_sign_up_and_sign_in(tenant_a, path):
    response = session_client_for(tenant_a.viewer).get(path)
    assert response.status_code == 302
    assert response["Location"] == "/"


# --- Sign-up -----------------------------------------------------------------------------------


def test_sign_up_creates_user_organisation_and_owner_membership_and_signs_in(client):
    response = sign_up(client, email="New@Example.com")
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="new@example.com")
    membership = Membership.unscoped.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.name == "Acme Analytics"
    assert signed_in_user(client) == user
    assert "Acme Analytics" in client.get("/").content.decode()


def test_sign_up_refuses_a_taken_email_without_creating_anything(client, tenant_a):
    organizations_before = Organization.unscoped.count()
    response = sign_up(client, email=tenant_a.owner.email.upper())
    assert response.status_code == 200
    assert "An account with this email already exists." in response.content.decode()
    assert Organization.unscoped.count() == organizations_before
    assert signed_in_user(client) is None


def test_sign_up_refuses_a_weak_password_with_the_validators_message(client):
    response = sign_up(client, password="password", password_confirm="password")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This password is too common." in html
    assert 'id="id_password_error"' in html and 'aria-invalid="true"' in html
    assert not User.objects.filter(email="new@example.com").exists()


def test_an_empty_sign_up_shows_every_missing_field(client):
    response = client.post("/signup", {})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 4


def test_sign_up_refuses_passwords_that_differ(client):
    response = sign_up(client, password_confirm=NEW_PASSWORD + "x")
    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_stores_an_argon2_hash_with_the_production_hashers(client):
    argon2 = project_settings.PASSWORD_HASHERS[0]
    assert argon2 == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=[argon2]):
        sign_up(client)
    assert User.objects.get(email="new@example.com").password.startswith("argon2")


# --- Sign-in and sign-out ----------------------------------------------------------------------


def test_sign_in_with_email_and_password_goes_home(client, tenant_a):
    response = client.post("/login", {"username": tenant_a.owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user(client) == tenant_a.owner


def test_sign_in_with_a_wrong_password_is_refused(client, tenant_a):
    response = client.post("/login", {"username": tenant_a.owner.email, "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct email" in response.content.decode()
    assert signed_in_user(client) is None


def test_sign_in_follows_a_local_next_but_not_another_site(client, tenant_a):
    credentials = {"username": tenant_a.owner.email, "password": PASSWORD}
    assert client.post("/login", credentials | {"next": "/account/password"})["Location"] == "/account/password"
    client.post("/logout")
    assert client.post("/login", credentials | {"next": "https://evil.example/"})["Location"] == "/"


def test_sign_out_needs_a_post(tenant_a):
    signed_in = session_client_for(tenant_a.owner)
    assert signed_in.get("/logout").status_code == 405
    assert signed_in_user(signed_in) == tenant_a.owner
    response = signed_in.post("/logout")
    assert response.status_code == 302
    assert response["Location"] == "/login"
    assert signed_in_user(signed_in) is None


# --- Passwords ---------------------------------------------------------------------------------


def test_password_change_replaces_the_password(client, tenant_a):
    client.post("/login", {"username": tenant_a.owner.email, "password": PASSWORD})
    response = client.post(
        "/account/password",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/account/password/done"
    assert signed_in_user(client) == tenant_a.owner  # the session survives its own password change
    client.post("/logout")
    assert client.post("/login", {"username": tenant_a.owner.email, "password": PASSWORD}).status_code == 200
    assert client.post("/login", {"username": tenant_a.owner.email, "password": NEW_PASSWORD}).status_code == 302


def test_password_change_needs_the_old_password(tenant_a):
    response = session_client_for(tenant_a.owner).post(
        "/account/password", {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    tenant_a.owner.refresh_from_db()
    assert tenant_a.owner.check_password(PASSWORD)


def reset_link_request(client, email: str) -> str:
    response = client.post("/password-reset", {"email": email})
    assert response["Location"] == "/password-reset/sent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [email]
    assert mail.outbox[0].subject == "Reset your Clickmeter password"
    return re.search(r"http://testserver(/password-reset/\S+)", mail.outbox[0].body).group(1)


def test_password_reset_by_email_end_to_end(client, tenant_a):
    link = reset_link_request(client, tenant_a.viewer.email)
    form_page = client.get(link, follow=True)
    assert_accessible_page(form_page, "Choose a new password")
    set_password_url = form_page.redirect_chain[-1][0]
    response = client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == "/password-reset/done"
    assert client.post("/login", {"username": tenant_a.viewer.email, "password": NEW_PASSWORD})["Location"] == "/"
    client.post("/logout")
    used = client.get(link, follow=True)
    assert "This password reset link has already been used or has expired." in used.content.decode()
    assert "<title>Reset link not valid · Clickmeter</title>" in used.content.decode()


def test_password_reset_answers_the_same_for_an_unknown_email(client, tenant_a):
    known = client.post("/password-reset", {"email": tenant_a.viewer.email})
    unknown = client.post("/password-reset", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [message.to for message in mail.outbox] == [[tenant_a.viewer.email]]


def test_password_reset_reaches_an_account_created_without_a_password(client):
    user = User.objects.create_user(email="operator-made@example.com")
    assert not user.has_usable_password()
    reset_link_request(client, user.email)


def test_password_reset_skips_inactive_accounts(client):
    UserFactory(email="gone@example.com", is_active=False)
    client.post("/password-reset", {"email": "gone@example.com"})
    assert mail.outbox == []


# --- Invitations -------------------------------------------------------------------------------


def test_invitation_page_offers_an_anonymous_visitor_sign_in_or_sign_up(client, tenant_a):
    _, token = invite(tenant_a)
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 200
    html = assert_accessible_page(response, f"Invitation to {tenant_a.organization.name}")
    assert tenant_a.organization.name in html and "admin" in html and "invitee@example.com" in html
    assert f'href="/login?next=/invitations/{token.replace(":", "%3A")}"' in html
    assert 'value="invitee@example.com"' in html and "disabled" in html


def test_signing_in_from_an_invitation_returns_to_it(client, tenant_a):
    invitee = UserFactory(email="invitee@example.com")
    _, token = invite(tenant_a)
    response = client.post("/login", {"username": invitee.email, "password": PASSWORD, "next": f"/invitations/{token}"})
    assert response["Location"] == f"/invitations/{token}"


def test_the_signed_in_invitee_accepts_with_one_button(tenant_a):
    invitee = UserFactory(email="invitee@example.com")
    _, token = invite(tenant_a, role=Role.VIEWER)
    signed_in = session_client_for(invitee)
    page = signed_in.get(f"/invitations/{token}").content.decode()
    assert f"Join {tenant_a.organization.name}</button>" in page
    response = signed_in.post(f"/invitations/{token}")
    assert response["Location"] == "/"
    assert Membership.unscoped.get(user=invitee, organization=tenant_a.organization).role == Role.VIEWER
    home = signed_in.get("/").content.decode()
    assert f"You are now a member of {tenant_a.organization.name}." in home
    assert tenant_a.property.public_id in home


def test_someone_else_signed_in_is_told_to_sign_out_and_cannot_accept(tenant_a, tenant_b):
    _, token = invite(tenant_a)
    signed_in = session_client_for(tenant_b.owner)
    page = signed_in.get(f"/invitations/{token}")
    assert page.status_code == 200
    assert f"You are signed in as <strong>{tenant_b.owner.email}</strong>" in page.content.decode()
    assert signed_in.post(f"/invitations/{token}").status_code == 403
    assert not Membership.unscoped.filter(user=tenant_b.owner, organization=tenant_a.organization).exists()
    assert Invitation.unscoped.get().accepted_at is None
    signed_out = signed_in.post("/logout", {"next": f"/invitations/{token}"})
    assert signed_out["Location"] == f"/invitations/{token}"
    assert signed_in_user(signed_in) is None


def test_an_anonymous_invitee_creates_an_account_that_joins_without_an_organisation_of_its_own(client, tenant_a):
    invitation, token = invite(tenant_a, role=Role.ADMIN)
    organizations_before = Organization.unscoped.count()
    response = client.post(
        f"/invitations/{token}",
        {"email": "attacker@example.com", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert response["Location"] == "/"
    user = User.objects.get(email="invitee@example.com")
    assert not User.objects.filter(email="attacker@example.com").exists()
    assert [(m.organization, m.role) for m in user.memberships.all()] == [(tenant_a.organization, Role.ADMIN)]
    assert Organization.unscoped.count() == organizations_before
    assert signed_in_user(client) == user
    invitation.refresh_from_db()
    assert invitation.accepted_by == user


def test_an_invited_sign_up_with_a_weak_password_creates_nothing(client, tenant_a):
    invitation, token = invite(tenant_a)
    response = client.post(f"/invitations/{token}", {"password": "12345678", "password_confirm": "12345678"})
    assert response.status_code == 200
    assert "This password is entirely numeric." in response.content.decode()
    assert not User.objects.filter(email="invitee@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_invited_sign_up_for_an_existing_account_says_so_and_leaves_the_invitation(client, tenant_a):
    UserFactory(email="invitee@example.com")
    invitation, token = invite(tenant_a)
    response = client.post(f"/invitations/{token}", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert "An account with this email already exists." in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def assert_invalid_invitation_page(response, message: str):
    assert response.status_code == 404
    html = assert_accessible_page(response, "Invitation not valid")
    assert message in html


def test_a_used_invitation_link_is_a_404(tenant_a):
    invitee = UserFactory(email="invitee@example.com")
    _, token = invite(tenant_a)
    signed_in = session_client_for(invitee)
    signed_in.post(f"/invitations/{token}")
    assert_invalid_invitation_page(signed_in.get(f"/invitations/{token}"), "This invitation has already been used.")
    assert_invalid_invitation_page(signed_in.post(f"/invitations/{token}"), "This invitation has already been used.")


def test_an_expired_invitation_link_is_a_404(client, tenant_a):
    invitation, token = invite(tenant_a)
    Invitation.unscoped.filter(pk=invitation.pk).update(expires_at=timezone.now())
    assert_invalid_invitation_page(client.get(f"/invitations/{token}"), "This invitation has expired")
    response = client.post(f"/invitations/{token}", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert_invalid_invitation_page(response, "This invitation has expired")
    assert not User.objects.filter(email="invitee@example.com").exists()


def test_a_tampered_invitation_link_is_a_404(client, tenant_a):
    _, token = invite(tenant_a)
    payload, signature = token.rsplit(":", 1)
    tampered = f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"
    assert_invalid_invitation_page(client.get(f"/invitations/{tampered}"), "This invitation link is not valid.")
    assert_invalid_invitation_page(client.get("/invitations/not-a-token"), "This invitation link is not valid.")


def test_a_withdrawn_invitation_link_is_a_404(tenant_a):
    invitee = UserFactory(email="invitee@example.com")
    invitation, token = invite(tenant_a)
    services.invitation_revoke(invitation=invitation)
    signed_in = session_client_for(invitee)
    assert_invalid_invitation_page(signed_in.get(f"/invitations/{token}"), "This invitation was withdrawn.")
    assert_invalid_invitation_page(signed_in.post(f"/invitations/{token}"), "This invitation was withdrawn.")
    assert not Membership.unscoped.filter(user=invitee).exists()


# --- Home --------------------------------------------------------------------------------------


def test_home_says_the_role_and_links_the_admin_for_owners_and_admins_only(tenant_a):
    for role, sees_admin in ((Role.OWNER, True), (Role.ADMIN, True), (Role.VIEWER, False)):
        html = session_client_for(tenant_a.member(role)).get("/").content.decode()
        assert f"Your role: {role.capitalize()}" in html
        assert ('href="/admin/"' in html) is sees_admin, role
        assert 'href="/v1/docs"' in html
        assert 'action="/logout"' in html


def test_an_operator_lists_only_the_organisations_they_belong_to(tenant_a, tenant_b):
    operator = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(user=operator, organization=tenant_a.organization, role=Role.VIEWER)
    home = session_client_for(operator).get("/").content.decode()
    assert tenant_a.organization.public_id in home and tenant_a.property.public_id in home
    assert tenant_b.organization.public_id not in home and tenant_b.property.public_id not in home
    listed = session_client_for(operator).get("/v1/organizations").json()
    assert [(row["id"], row["role"]) for row in listed] == [(tenant_a.organization.public_id, "viewer")]
