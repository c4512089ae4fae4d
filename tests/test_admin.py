"""The tenant-scoped admin: members with admin rights manage their own organisations and see nothing of others."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Organization
from apps.accounts.services import invitation_create
from apps.core.admin import ClickmeterAdminSite, SuperuserOnlyAdmin, TenantAdmin, is_tenant_model
from apps.core.tenancy import Role
from apps.ingestion.models import DroppedEvents
from apps.keys import selectors as key_selectors
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_resolve
from apps.properties.models import Property
from apps.properties.services import property_update
from tests.conftest import session_client_for
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    Organization: "/admin/accounts/organization/",
    Membership: "/admin/accounts/membership/",
    Invitation: "/admin/accounts/invitation/",
    Property: "/admin/properties/property/",
    ApiKey: "/admin/keys/apikey/",
    DroppedEvents: "/admin/ingestion/droppedevents/",
}
SECRET = re.compile(r"(?<![\w-])(?:wk|rk)_[\w-]{32}(?![\w-])")


def named(tenant, label):
    """Give the tenant's organisation and property names no other test object's name contains."""
    tenant.organization.name = f"{label} Organisation"
    tenant.organization.save(update_fields=["name"])
    tenant.property.name = f"{label} Site"
    tenant.property.save(update_fields=["name"])
    return tenant


def invite(tenant, email):
    invitation, _ = invitation_create(
        organization=tenant.organization,
        email=email,
        role=Role.VIEWER,
        invited_by=tenant.owner,
        site_url="https://testserver/",
    )
    return invitation


@pytest.fixture
def a(tenant_a):
    named(tenant_a, "Alpha")
    invite(tenant_a, "invitee-of-alpha@example.com")
    DroppedEvents.unscoped.create(property=tenant_a.property, day=timezone.localdate(), reason="bot", count=7)
    return tenant_a


@pytest.fixture
def b(tenant_b):
    named(tenant_b, "Bravo")
    invite(tenant_b, "invitee-of-bravo@example.com")
    DroppedEvents.unscoped.create(property=tenant_b.property, day=timezone.localdate(), reason="origin", count=9)
    return tenant_b


def objects_of(tenant):
    """One row of every tenant model in the tenant's organisation."""
    return {
        Organization: tenant.organization,
        Membership: Membership.unscoped.get(user=tenant.owner),
        Invitation: Invitation.unscoped.get(organization=tenant.organization),
        Property: tenant.property,
        ApiKey: ApiKey.unscoped.filter(property=tenant.property).first(),
        DroppedEvents: DroppedEvents.unscoped.get(property=tenant.property),
    }


def identifiers_of(tenant):
    return [
        tenant.organization.name,
        tenant.property.name,
        tenant.property.public_id,
        *ApiKey.unscoped.filter(property=tenant.property).values_list("prefix", flat=True),
        tenant.owner.email,
        tenant.admin.email,
        tenant.viewer.email,
        Invitation.unscoped.get(organization=tenant.organization).email,
    ]


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def secrets_in(response) -> list[str]:
    return SECRET.findall(" ".join(shown_messages(response)))


def resolves(secret: str) -> bool:
    key_selectors._cache.clear()
    kind = ApiKey.Kind.WRITE if secret.startswith("wk_") else ApiKey.Kind.READ
    return api_key_resolve(secret=secret, kind=kind) is not None


# Lists


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_changelists_show_the_members_organisation_and_nothing_of_another(a, b, role):
    browser = session_client_for(a.member(role))
    pages = {model: browser.get(url) for model, url in CHANGELISTS.items()}
    assert {model: page.status_code for model, page in pages.items()} == dict.fromkeys(CHANGELISTS, 200)
    everything = "".join(page.content.decode() for page in pages.values())
    for identifier in identifiers_of(b):
        assert identifier not in everything, identifier
    assert a.organization.name in pages[Organization].content.decode()
    assert a.owner.email in pages[Membership].content.decode()
    assert "invitee-of-alpha@example.com" in pages[Invitation].content.decode()
    assert a.property.public_id in pages[Property].content.decode()
    for prefix in ApiKey.unscoped.filter(property=a.property).values_list("prefix", flat=True):
        assert prefix in pages[ApiKey].content.decode()
    assert a.property.name in pages[DroppedEvents].content.decode()


def test_an_admin_of_one_organisation_and_viewer_of_another_sees_only_the_first(a, b):
    member = MembershipFactory(organization=a.organization, role=Role.ADMIN).user
    MembershipFactory(user=member, organization=b.organization, role=Role.VIEWER)
    browser = session_client_for(member)
    for url in CHANGELISTS.values():
        page = browser.get(url).content.decode()
        for identifier in identifiers_of(b):
            assert identifier not in page, (url, identifier)
    assert a.property.public_id in browser.get(CHANGELISTS[Property]).content.decode()


def test_list_filters_offer_only_the_members_organisations_and_properties(a, b):
    browser = session_client_for(a.admin)
    for url in (CHANGELISTS[ApiKey], CHANGELISTS[Property], CHANGELISTS[DroppedEvents], CHANGELISTS[Membership]):
        page = browser.get(url).content.decode()
        assert b.organization.name not in page and b.property.name not in page, url
    filtered = browser.get(CHANGELISTS[ApiKey], {"property__id__exact": b.property.pk})
    assert filtered.status_code == 200
    assert b.property.name not in filtered.content.decode()
    assert b.property.pk not in {key.property_id for key in filtered.context["cl"].result_list}


def test_a_superuser_sees_every_organisation(a, b):
    browser = session_client_for(UserFactory(is_staff=True, is_superuser=True))
    everything = "".join(browser.get(url).content.decode() for url in CHANGELISTS.values())
    for identifier in [*identifiers_of(a), *identifiers_of(b)]:
        assert identifier in everything, identifier


# Pages of one object


def not_found_body(response) -> bytes:
    return response.content.replace(response.wsgi_request.path.encode(), b"<path>")


@pytest.mark.parametrize("page", ["change", "history", "delete"])
@pytest.mark.parametrize("model", list(CHANGELISTS))
def test_another_organisations_object_is_a_404_exactly_like_a_missing_one(a, b, model, page):
    browser = session_client_for(a.owner)
    theirs = objects_of(b)[model]
    missing_pk = model.unscoped.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    other = browser.get(f"{CHANGELISTS[model]}{theirs.pk}/{page}/")
    missing = browser.get(f"{CHANGELISTS[model]}{missing_pk}/{page}/")
    assert (other.status_code, missing.status_code) == (404, 404)
    assert not_found_body(other) == not_found_body(missing)
    mine = objects_of(a)[model]
    assert browser.get(f"{CHANGELISTS[model]}{mine.pk}/history/").status_code == 200


def test_posting_to_another_organisations_change_and_delete_pages_changes_nothing(a, b):
    browser = session_client_for(a.owner)
    theirs = Membership.unscoped.get(user=b.admin)
    changed = browser.post(f"{CHANGELISTS[Membership]}{theirs.pk}/change/", {"role": Role.VIEWER})
    deleted = browser.post(f"{CHANGELISTS[Membership]}{theirs.pk}/delete/", {"post": "yes"})
    renamed = browser.post(f"{CHANGELISTS[Organization]}{b.organization.pk}/change/", {"name": "Taken over"})
    assert (changed.status_code, deleted.status_code, renamed.status_code) == (404, 404, 404)
    theirs.refresh_from_db()
    b.organization.refresh_from_db()
    assert (theirs.role, b.organization.name) == (Role.ADMIN, "Bravo Organisation")


# Who may add and delete what (every page renders; 403 where the role is too low)
ADD_DELETE = {
    Role.OWNER: {
        Organization: (403, 403),
        Membership: (403, 200),
        Invitation: (200, 403),
        Property: (200, 200),
        ApiKey: (200, 403),
        DroppedEvents: (403, 403),
    },
    Role.ADMIN: {
        Organization: (403, 403),
        Membership: (403, 403),
        Invitation: (403, 403),
        Property: (200, 403),
        ApiKey: (200, 403),
        DroppedEvents: (403, 403),
    },
    "superuser": {
        Organization: (200, 200),
        Membership: (200, 200),
        Invitation: (200, 403),
        Property: (200, 200),
        ApiKey: (200, 403),
        DroppedEvents: (403, 403),
    },
}


@pytest.mark.parametrize("who", list(ADD_DELETE))
def test_pages_answer_by_role(a, who):
    user = UserFactory(is_staff=True, is_superuser=True) if who == "superuser" else a.member(who)
    browser = session_client_for(user)
    answers = {}
    for model, url in CHANGELISTS.items():
        mine = objects_of(a)[model]
        viewed = [browser.get(f"{url}{page}").status_code for page in ("", f"{mine.pk}/change/", f"{mine.pk}/history/")]
        assert viewed == [200, 200, 200], model
        answers[model] = (browser.get(f"{url}add/").status_code, browser.get(f"{url}{mine.pk}/delete/").status_code)
    assert answers == ADD_DELETE[who]


# Autocomplete and foreign-key choices


def autocomplete(browser, app_label, model_name, field_name, term=""):
    return browser.get(
        "/admin/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )


def test_autocomplete_offers_only_the_members_properties_and_organisations(a, b):
    browser = session_client_for(a.admin)
    properties = autocomplete(browser, "keys", "apikey", "property")
    organizations = autocomplete(browser, "properties", "property", "organization")
    assert properties.status_code == organizations.status_code == 200
    assert [row["id"] for row in properties.json()["results"]] == [str(a.property.pk)]
    assert [row["id"] for row in organizations.json()["results"]] == [str(a.organization.pk)]
    searched = autocomplete(browser, "keys", "apikey", "property", term="Bravo")
    assert searched.json()["results"] == []


def test_autocomplete_of_users_is_refused_to_members(a, b):
    browser = session_client_for(a.owner)
    assert autocomplete(browser, "accounts", "membership", "user").status_code == 403


def test_a_property_cannot_be_added_to_another_organisation(a, b):
    browser = session_client_for(a.admin)
    response = browser.post(
        "/admin/properties/property/add/",
        {"organization": b.organization.pk, "name": "Injected", "allowed_origins": "", "timezone": "UTC"},
    )
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Property.unscoped.filter(name="Injected").exists()


def test_a_key_cannot_be_added_to_another_organisations_property(a, b):
    browser = session_client_for(a.admin)
    response = browser.post("/admin/keys/apikey/add/", {"property": b.property.pk, "kind": "read", "name": "Injected"})
    assert response.status_code == 200
    assert "property" in response.context["adminform"].form.errors
    assert not ApiKey.unscoped.filter(name="Injected").exists()


def test_an_invitation_cannot_be_sent_for_another_organisation(a, b):
    browser = session_client_for(a.owner)
    response = browser.post(
        "/admin/accounts/invitation/add/",
        {"organization": b.organization.pk, "email": "stranger@example.com", "role": Role.OWNER},
    )
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Invitation.unscoped.filter(email="stranger@example.com").exists()


# Actions


def test_actions_with_another_organisations_ids_change_nothing(a, b):
    browser = session_client_for(a.owner)
    their_keys = list(ApiKey.unscoped.filter(property=b.property).values_list("pk", flat=True))
    for action in ("revoke_selected", "rotate_selected"):
        browser.post(CHANGELISTS[ApiKey], {"action": action, "_selected_action": their_keys})
    their_invitation = Invitation.unscoped.get(organization=b.organization)
    browser.post(CHANGELISTS[Invitation], {"action": "withdraw_selected", "_selected_action": [their_invitation.pk]})
    browser.post(CHANGELISTS[ApiKey], {"action": "revoke_selected", "select_across": "1", "_selected_action": [0]})
    their_invitation.refresh_from_db()
    assert their_invitation.revoked_at is None
    assert ApiKey.unscoped.filter(property=b.property).count() == 2
    assert not ApiKey.unscoped.filter(property=b.property).exclude(revoked_at=None, expires_at=None).exists()
    assert resolves(b.write_key) and resolves(b.read_key)
    assert not resolves(a.write_key)


def test_actions_receive_only_rows_where_the_member_holds_the_actions_role(a, b):
    owner_here_admin_there = a.owner
    MembershipFactory(user=owner_here_admin_there, organization=b.organization, role=Role.ADMIN)
    browser = session_client_for(owner_here_admin_there)
    invitations = Invitation.unscoped.filter(organization__in=[a.organization, b.organization])
    assert len(browser.get(CHANGELISTS[Invitation]).context["cl"].result_list) == 2
    browser.post(
        CHANGELISTS[Invitation], {"action": "withdraw_selected", "_selected_action": [i.pk for i in invitations]}
    )
    withdrawn = dict(invitations.values_list("organization", "revoked_at"))
    assert withdrawn[a.organization.pk] is not None
    assert withdrawn[b.organization.pk] is None


def test_bulk_delete_is_not_offered(a):
    browser = session_client_for(a.owner)
    for url in CHANGELISTS.values():
        assert "delete_selected" not in browser.get(url).content.decode(), url


# Who may enter, and roles


def test_a_viewer_cannot_sign_in_to_the_admin(client, a):
    response = client.post("/admin/login/?next=/admin/", {"username": a.viewer.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_signed_in_viewer_is_sent_to_the_admin_login(a):
    response = session_client_for(a.viewer).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_admin_signs_in_to_the_admin(client, a):
    response = client.post("/admin/login/?next=/admin/", {"username": a.admin.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_members_never_see_the_deployments_users(a):
    browser = session_client_for(a.owner)
    assert browser.get("/admin/accounts/user/").status_code == 403
    assert browser.get(f"/admin/accounts/user/{a.viewer.pk}/change/").status_code == 403
    assert "/admin/accounts/user/" not in browser.get("/admin/").content.decode()


def test_an_admin_cannot_change_or_remove_the_owner(a):
    browser = session_client_for(a.admin)
    owner = Membership.unscoped.get(user=a.owner)
    assert browser.get(f"{CHANGELISTS[Membership]}{owner.pk}/change/").status_code == 200
    changed = browser.post(f"{CHANGELISTS[Membership]}{owner.pk}/change/", {"role": Role.VIEWER})
    removed = browser.post(f"{CHANGELISTS[Membership]}{owner.pk}/delete/", {"post": "yes"})
    assert (changed.status_code, removed.status_code) == (403, 403)
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_an_owner_changes_a_role_and_removes_a_member(a):
    browser = session_client_for(a.owner)
    viewer = Membership.unscoped.get(user=a.viewer)
    admin_ = Membership.unscoped.get(user=a.admin)
    assert browser.post(f"{CHANGELISTS[Membership]}{viewer.pk}/change/", {"role": Role.ADMIN}).status_code == 302
    assert browser.post(f"{CHANGELISTS[Membership]}{admin_.pk}/delete/", {"post": "yes"}).status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == Role.ADMIN
    assert not Membership.unscoped.filter(pk=admin_.pk).exists()


def test_the_last_owner_can_neither_step_down_nor_be_removed(a):
    browser = session_client_for(a.owner)
    owner = Membership.unscoped.get(user=a.owner)
    url = f"{CHANGELISTS[Membership]}{owner.pk}/"
    stepped_down = browser.post(f"{url}change/", {"role": Role.ADMIN}, follow=True)
    removed = browser.post(f"{url}delete/", {"post": "yes"}, follow=True)
    assert stepped_down.status_code == removed.status_code == 200
    assert "last owner" in " ".join(shown_messages(stepped_down))
    assert "last owner" in " ".join(shown_messages(removed))
    owner.refresh_from_db()
    assert owner.role == Role.OWNER
    assert not LogEntry.objects.filter(object_id=str(owner.pk)).exists()


def test_an_owner_renames_the_organisation_and_an_admin_cannot(a):
    url = f"{CHANGELISTS[Organization]}{a.organization.pk}/change/"
    # The read-only members inline posts its (empty) management form, as a browser does.
    inline = {"memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0}
    assert session_client_for(a.admin).post(url, {"name": "By the admin", **inline}).status_code == 403
    assert session_client_for(a.owner).post(url, {"name": "By the owner", **inline}).status_code == 302
    a.organization.refresh_from_db()
    assert a.organization.name == "By the owner"


def test_only_superusers_add_and_delete_organisations(a):
    assert session_client_for(a.owner).get("/admin/accounts/organization/add/").status_code == 403
    delete_url = f"{CHANGELISTS[Organization]}{a.organization.pk}/delete/"
    assert session_client_for(a.owner).post(delete_url, {"post": "yes"}).status_code == 403
    operator = session_client_for(UserFactory(is_staff=True, is_superuser=True))
    response = operator.post("/admin/accounts/organization/add/", {"name": "Charlie", "owner": a.viewer.pk})
    assert response.status_code == 302
    created = Organization.unscoped.get(name="Charlie")
    assert Membership.unscoped.get(organization=created).user == a.viewer
    assert operator.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Property.unscoped.filter(pk=a.property.pk).exists()


# Invitations


def test_an_owner_invites_by_email_and_withdraws_the_invitation(a, django_capture_on_commit_callbacks):
    browser = session_client_for(a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/admin/accounts/invitation/add/",
            {"organization": a.organization.pk, "email": "New.Person@example.com", "role": Role.ADMIN},
        )
    assert response.status_code == 302
    invitation = Invitation.unscoped.get(email="new.person@example.com")
    assert (invitation.organization, invitation.role, invitation.invited_by) == (a.organization, Role.ADMIN, a.owner)
    assert "http://testserver/invitations/" in mail.outbox[-1].body
    listed = browser.get(CHANGELISTS[Invitation], {"status": "pending"}).content.decode()
    assert "new.person@example.com" in listed
    browser.post(CHANGELISTS[Invitation], {"action": "withdraw_selected", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert "new.person@example.com" in browser.get(CHANGELISTS[Invitation], {"status": "withdrawn"}).content.decode()


def test_an_admin_sees_invitations_but_cannot_send_or_withdraw_them(a):
    browser = session_client_for(a.admin)
    invitation = Invitation.unscoped.get(organization=a.organization)
    assert browser.get("/admin/accounts/invitation/add/").status_code == 403
    browser.post(CHANGELISTS[Invitation], {"action": "withdraw_selected", "_selected_action": [invitation.pk]})
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert browser.get(f"{CHANGELISTS[Invitation]}{invitation.pk}/change/").status_code == 200


def test_inviting_an_existing_member_is_an_error_message_not_a_server_error(a):
    browser = session_client_for(a.owner)
    response = browser.post(
        "/admin/accounts/invitation/add/",
        {"organization": a.organization.pk, "email": a.viewer.email, "role": Role.ADMIN},
        follow=True,
    )
    assert response.status_code == 200
    assert "already a member" in " ".join(shown_messages(response))


# Properties


def test_an_admin_creates_a_property_with_its_first_keys_shown_once(a):
    browser = session_client_for(a.admin)
    response = browser.post(
        "/admin/properties/property/add/",
        {
            "organization": a.organization.pk,
            "name": "Docs site",
            "domains": "docs.example.com\r\n",
            "allowed_origins": "https://Docs.Example.com/\r\nhttps://*.example.org",
            "timezone": "Europe/Paris",
        },
        follow=True,
    )
    assert response.status_code == 200
    created = Property.unscoped.get(name="Docs site")
    assert (created.organization, created.domains) == (a.organization, ["docs.example.com"])
    assert created.allowed_origins == ["https://*.example.org", "https://docs.example.com"]
    shown = secrets_in(response)
    assert sorted(secret[:3] for secret in shown) == ["rk_", "wk_"]
    assert all(resolves(secret) for secret in shown)
    again = browser.get(f"{CHANGELISTS[Property]}{created.pk}/change/")
    assert not any(secret in again.content.decode() for secret in shown)


def test_origins_left_blank_are_https_on_each_domain(a):
    session_client_for(a.admin).post(
        "/admin/properties/property/add/",
        {
            "organization": a.organization.pk,
            "name": "Shop",
            "domains": "shop.example\nwww.shop.example",
            "timezone": "UTC",
        },
    )
    created = Property.unscoped.get(name="Shop")
    assert created.allowed_origins == ["https://shop.example", "https://www.shop.example"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"allowed_origins": "https://ok.example\nnot an origin"},
            "allowed_origins",
            "'not an origin' is not an origin",
        ),
        (
            {"allowed_origins": '["https://example.com"]'},
            "allowed_origins",
            "is not an origin like https://example.com",
        ),
        ({"domains": "https://example.com"}, "domains", "is not a domain like example.com"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice"),
    ],
)
def test_bad_values_are_errors_on_their_field_and_nothing_is_created(a, fields, field, message):
    data = {"organization": a.organization.pk, "name": "Bad", "allowed_origins": "", "timezone": "UTC"} | fields
    response = session_client_for(a.admin).post("/admin/properties/property/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not Property.unscoped.filter(name="Bad").exists()


def test_a_domain_of_another_organisations_property_is_an_error_on_the_field(a, b):
    property_update(property=b.property, domains=["taken.example"])
    browser = session_client_for(a.admin)
    added = browser.post(
        "/admin/properties/property/add/",
        {"organization": a.organization.pk, "name": "Copy", "domains": "taken.example", "timezone": "UTC"},
    )
    assert added.context["adminform"].form.errors["domains"] == [
        "taken.example is already the domain of another property."
    ]
    changed = browser.post(
        f"{CHANGELISTS[Property]}{a.property.pk}/change/",
        {**property_change_data(a.property), "domains": "mine.example\nTaken.example"},
    )
    assert changed.status_code == 200
    assert "taken.example is already" in " ".join(changed.context["adminform"].form.errors["domains"])
    assert not Property.unscoped.filter(name="Copy").exists()
    assert a.property.domains == [] and b.property.domains == ["taken.example"]


def test_the_change_form_lists_domains_and_origins_one_per_line_and_offers_the_timezones(a):
    property_update(
        property=a.property,
        domains=["a.example", "b.example"],
        allowed_origins=["https://a.example", "https://b.example"],
    )
    html = session_client_for(a.admin).get(f"{CHANGELISTS[Property]}{a.property.pk}/change/").content.decode()
    assert re.search(r'<textarea name="domains"[^>]*>\na\.example\nb\.example</textarea>', html)
    assert re.search(r'<textarea name="allowed_origins"[^>]*>\nhttps://a\.example\nhttps://b\.example</textarea>', html)
    assert '<option value="Europe/Paris">Europe/Paris</option>' in html
    assert '<option value="UTC" selected>UTC</option>' in html


def test_an_unchanged_change_form_changes_nothing(a):
    property_update(property=a.property, domains=["a.example"])
    response = session_client_for(a.admin).post(
        f"{CHANGELISTS[Property]}{a.property.pk}/change/", property_change_data(a.property)
    )
    assert response.status_code == 302
    a.property.refresh_from_db()
    assert (a.property.domains, a.property.allowed_origins) == (["a.example"], ["https://example.com"])


def property_change_data(prop) -> dict:
    return {
        "name": prop.name,
        "domains": "\r\n".join(prop.domains),
        "allowed_origins": "\r\n".join(prop.allowed_origins),
        "timezone": prop.timezone,
        "retention_days": prop.retention_days,
        "ingest_limit_per_key": prop.ingest_limit_per_key,
        "ingest_limit_per_address": prop.ingest_limit_per_address,
    }


def test_an_admin_changes_a_property_but_only_an_owner_deletes_it(a):
    url = f"{CHANGELISTS[Property]}{a.property.pk}/"
    changed = session_client_for(a.admin).post(
        f"{url}change/",
        {
            "name": "Renamed",
            "domains": "renamed.example",
            "allowed_origins": "https://example.com",
            "timezone": "Asia/Tokyo",
            "retention_days": 30,
            "ingest_limit_per_key": 100,
            "ingest_limit_per_address": 10,
        },
    )
    assert changed.status_code == 302
    a.property.refresh_from_db()
    assert (a.property.name, a.property.timezone, a.property.retention_days) == ("Renamed", "Asia/Tokyo", 30)
    assert a.property.domains == ["renamed.example"]
    assert session_client_for(a.admin).post(f"{url}delete/", {"post": "yes"}).status_code == 403
    assert session_client_for(a.owner).post(f"{url}delete/", {"post": "yes"}).status_code == 302
    assert not Property.unscoped.filter(pk=a.property.pk).exists()


# Keys


def test_a_new_key_is_shown_once_works_and_only_its_prefix_stays_visible(a):
    browser = session_client_for(a.admin)
    response = browser.post(
        "/admin/keys/apikey/add/", {"property": a.property.pk, "kind": "read", "name": "backend"}, follow=True
    )
    [secret] = secrets_in(response)
    assert resolves(secret)
    created = ApiKey.unscoped.get(name="backend")
    assert created.prefix == secret[:11]
    page = browser.get(f"{CHANGELISTS[ApiKey]}{created.pk}/change/").content.decode()
    listed = browser.get(CHANGELISTS[ApiKey]).content.decode()
    for shown in (page, listed):
        assert secret not in shown and created.key_hash not in shown
    assert created.prefix in page and created.prefix in listed
    assert secret not in response.cookies.output()


def test_rotating_gives_a_working_key_and_the_old_one_expires_after_the_grace_period(a):
    browser = session_client_for(a.admin)
    old = ApiKey.unscoped.get(property=a.property, kind=ApiKey.Kind.WRITE)
    response = browser.post(
        CHANGELISTS[ApiKey], {"action": "rotate_selected", "_selected_action": [old.pk]}, follow=True
    )
    [secret] = secrets_in(response)
    assert resolves(secret) and resolves(a.write_key)
    old.refresh_from_db()
    grace = timedelta(hours=settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS)
    assert abs(old.expires_at - (timezone.now() + grace)) < timedelta(minutes=1)
    assert f"{old.expires_at:%Y-%m-%d %H:%M} UTC" in " ".join(shown_messages(response))
    assert "expires at" in browser.get(CHANGELISTS[ApiKey]).content.decode()
    old.expires_at = timezone.now() - timedelta(seconds=1)
    old.save(update_fields=["expires_at"])
    assert not resolves(a.write_key)
    assert resolves(secret)


def test_rotating_a_revoked_key_is_an_error_message(a):
    browser = session_client_for(a.admin)
    key = ApiKey.unscoped.get(property=a.property, kind=ApiKey.Kind.READ)
    browser.post(CHANGELISTS[ApiKey], {"action": "revoke_selected", "_selected_action": [key.pk]})
    response = browser.post(
        CHANGELISTS[ApiKey], {"action": "rotate_selected", "_selected_action": [key.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "cannot be rotated" in " ".join(shown_messages(response))
    assert ApiKey.unscoped.filter(property=a.property).count() == 2


def test_revoking_stops_the_key(a):
    browser = session_client_for(a.admin)
    key = ApiKey.unscoped.get(property=a.property, kind=ApiKey.Kind.READ)
    browser.post(CHANGELISTS[ApiKey], {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert not resolves(a.read_key)
    assert resolves(a.write_key)
    assert "revoked" in browser.get(f"{CHANGELISTS[ApiKey]}{key.pk}/change/").content.decode()


def test_an_expiry_set_by_hand_stops_the_key(a):
    browser = session_client_for(a.admin)
    key = ApiKey.unscoped.get(property=a.property, kind=ApiKey.Kind.READ)
    past = timezone.now() - timedelta(minutes=5)
    response = browser.post(
        f"{CHANGELISTS[ApiKey]}{key.pk}/change/",
        {"name": "old", "expires_at_0": f"{past:%Y-%m-%d}", "expires_at_1": f"{past:%H:%M:%S}"},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "old" and key.expires_at is not None
    assert not resolves(a.read_key)


def test_keys_are_revoked_never_deleted(a):
    key = ApiKey.unscoped.get(property=a.property, kind=ApiKey.Kind.READ)
    superuser = UserFactory(is_staff=True, is_superuser=True)
    response = session_client_for(superuser).post(f"{CHANGELISTS[ApiKey]}{key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ApiKey.unscoped.filter(pk=key.pk).exists()


# Every admin is scoped or for operators only


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_every_registered_admin_is_scoped_or_superuser_only(a):
    member = admin_request(a.owner)
    for model, model_admin in admin.site._registry.items():
        if is_tenant_model(model):
            assert isinstance(model_admin, TenantAdmin), model
        else:
            assert isinstance(model_admin, SuperuserOnlyAdmin), model
            assert not model_admin.has_module_permission(member), model
            assert not model_admin.has_view_permission(member), model
    assert {Organization, Membership, Invitation, Property, ApiKey, DroppedEvents} <= set(admin.site._registry)


def test_a_tenant_model_cannot_be_registered_without_scoping():
    site = ClickmeterAdminSite(name="probe")
    with pytest.raises(ImproperlyConfigured):
        site.register(Property, admin.ModelAdmin)


def test_any_other_admin_registered_later_is_superuser_only(a):
    site = ClickmeterAdminSite(name="probe")
    site.register(Group)
    model_admin = site._registry[Group]
    assert isinstance(model_admin, SuperuserOnlyAdmin)
    a.owner.is_staff = True
    a.owner.save(update_fields=["is_staff"])
    assert not model_admin.has_view_permission(admin_request(a.owner))
    assert model_admin.has_view_permission(admin_request(UserFactory(is_superuser=True)))


def test_the_only_organisation_a_member_may_add_to_is_preselected(a):
    form = session_client_for(a.admin).get("/admin/properties/property/add/").content.decode()
    assert re.search(rf'<option value="{a.organization.pk}" selected>', form), "preselected"
