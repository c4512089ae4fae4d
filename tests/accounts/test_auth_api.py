"""JWT sign-in for programs: obtain, use, refresh with rotation, log out, lockout, and forged tokens."""

import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def obtain(client, email, password=PASSWORD, **headers):
    return post(client, "/v1/auth/token", {"email": email, "password": password}, **headers)


def organizations(client, access):
    return client.get("/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {access}")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


def test_a_token_pair_works_rotates_and_logs_out(client, tenant_a):
    obtained = obtain(client, tenant_a.owner.email)
    assert obtained.status_code == 200
    first = obtained.json()
    tenant_a.owner.refresh_from_db()
    assert tenant_a.owner.last_login is not None
    listed = organizations(client, first["access"])
    assert listed.status_code == 200
    assert [org["id"] for org in listed.json()] == [tenant_a.organization.public_id]

    refreshed = post(client, "/v1/auth/token/refresh", {"refresh": first["refresh"]})
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh"] != first["refresh"] and second["access"] != first["access"]
    assert organizations(client, second["access"]).status_code == 200
    assert_error(post(client, "/v1/auth/token/refresh", {"refresh": first["refresh"]}), 401, "token_invalid")

    assert post(client, "/v1/auth/logout", {"refresh": second["refresh"]}).status_code == 204
    assert_error(post(client, "/v1/auth/token/refresh", {"refresh": second["refresh"]}), 401, "token_invalid")
    assert_error(post(client, "/v1/auth/logout", {"refresh": second["refresh"]}), 401, "token_invalid")


def test_logging_out_with_the_access_token_revokes_it_at_once_and_no_other(client, tenant_a):
    signed_out = obtain(client, tenant_a.owner.email).json()
    other = obtain(client, tenant_a.owner.email).json()  # another program of the same member
    assert organizations(client, signed_out["access"]).status_code == 200
    response = post(
        client,
        "/v1/auth/logout",
        {"refresh": signed_out["refresh"]},
        HTTP_AUTHORIZATION=f"Bearer {signed_out['access']}",
    )
    assert response.status_code == 204
    assert_error(organizations(client, signed_out["access"]), 401, "authentication_failed")
    assert organizations(client, other["access"]).status_code == 200
    # A header that holds no valid access token changes nothing, and the refresh token is still revoked.
    third = obtain(client, tenant_a.owner.email).json()
    response = post(client, "/v1/auth/logout", {"refresh": third["refresh"]}, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 204
    assert_error(post(client, "/v1/auth/token/refresh", {"refresh": third["refresh"]}), 401, "token_invalid")
    assert organizations(client, third["access"]).status_code == 200


def test_changing_the_password_refuses_access_tokens_issued_before(client, tenant_a):
    access = obtain(client, tenant_a.owner.email).json()["access"]
    assert organizations(client, access).status_code == 200
    tenant_a.owner.set_password("a whole new passphrase 42")
    tenant_a.owner.save()
    assert_error(organizations(client, access), 401, "authentication_failed")
    fresh = obtain(client, tenant_a.owner.email, "a whole new passphrase 42").json()["access"]
    assert organizations(client, fresh).status_code == 200


def test_the_email_is_matched_without_regard_to_case_or_spaces(client, tenant_a):
    assert obtain(client, f"  {tenant_a.owner.email.upper()} ").status_code == 200


@pytest.mark.parametrize("case", ["wrong password", "unknown email", "inactive user"])
def test_wrong_credentials_and_inactive_users_get_the_same_401(client, tenant_a, case):
    if case == "wrong password":
        response = obtain(client, tenant_a.owner.email, "not the password")
    elif case == "unknown email":
        response = obtain(client, "nobody@example.com")
    else:
        response = obtain(client, UserFactory(is_active=False).email)
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": "No active account found with the given credentials"}
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/auth/token", {"password": PASSWORD}, "email"),
        ("/v1/auth/token", {"email": "someone@example.com"}, "password"),
        ("/v1/auth/token/refresh", {}, "refresh"),
        ("/v1/auth/logout", {}, "refresh"),
    ],
)
def test_a_missing_field_is_a_400_naming_it(client, path, body, field):
    response = post(client, path, body)
    assert_error(response, 400, "invalid_parameter")
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize("path", ["/v1/auth/token/refresh", "/v1/auth/logout"])
def test_garbage_and_access_tokens_are_not_refresh_tokens(client, tenant_a, path):
    assert_error(post(client, path, {"refresh": "not.a.jwt"}), 401, "token_invalid")
    access = str(RefreshToken.for_user(tenant_a.owner).access_token)
    assert_error(post(client, path, {"refresh": access}), 401, "token_invalid")


def test_a_deleted_users_refresh_token_is_refused(client, tenant_a):
    refresh = str(RefreshToken.for_user(tenant_a.viewer))
    tenant_a.viewer.delete()
    assert_error(post(client, "/v1/auth/token/refresh", {"refresh": refresh}), 401, "token_invalid")


def test_an_inactive_users_refresh_token_is_refused(client, tenant_a):
    refresh = str(RefreshToken.for_user(tenant_a.viewer))
    tenant_a.viewer.is_active = False
    tenant_a.viewer.save()
    assert_error(post(client, "/v1/auth/token/refresh", {"refresh": refresh}), 401, "authentication_failed")


def test_an_expired_access_token_is_refused(client, tenant_a):
    token = AccessToken.for_user(tenant_a.owner)
    assert organizations(client, str(token)).status_code == 200
    token.set_exp(lifetime=-timedelta(seconds=1))
    assert_error(organizations(client, str(token)), 401, "authentication_failed")


def test_without_a_token_the_api_asks_for_one(client, db):
    response = client.get("/v1/organizations")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        ("another key entirely, not the one the server signs with", "HS256"),
        (None, "none"),
        ("signing key", "HS512"),
    ],
)
def test_tokens_with_another_key_or_algorithm_are_refused(client, tenant_a, key, algorithm):
    signing_key = settings.SIMPLE_JWT["SIGNING_KEY"]
    payload = dict(AccessToken.for_user(tenant_a.owner).payload)
    assert organizations(client, jwt.encode(payload, signing_key, algorithm="HS256")).status_code == 200
    forged = jwt.encode(payload, signing_key if key == "signing key" else key, algorithm=algorithm)
    assert_error(organizations(client, forged), 401, "authentication_failed")


def test_five_wrong_passwords_lock_the_account_out_from_that_address(client, tenant_a):
    email = tenant_a.owner.email
    statuses = [obtain(client, email, "not the password").status_code for _ in range(5)]
    # The fifth failure reaches the limit: axes answers it with the lockout already.
    assert statuses == [401, 401, 401, 401, 429]

    locked = obtain(client, email)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"
    assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert "access" not in locked.json()

    assert obtain(client, tenant_a.admin.email).status_code == 200
    assert obtain(client, email, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_a_success_before_the_limit_starts_the_count_again(client, tenant_a):
    email = tenant_a.owner.email
    for _ in range(4):
        assert obtain(client, email, "not the password").status_code == 401
    assert obtain(client, email).status_code == 200
    for _ in range(4):
        assert obtain(client, email, "not the password").status_code == 401
    assert obtain(client, email).status_code == 200


@pytest.mark.parametrize("secret", ["write_key", "read_key"])
def test_an_api_key_where_a_members_token_belongs_is_told_what_to_send(client, tenant_a, secret):
    response = client.get("/v1/organizations", HTTP_AUTHORIZATION=f"Bearer {getattr(tenant_a, secret)}")
    assert_error(response, 401, "authentication_failed")
    message = response.json()["error"]["message"]
    assert "member's access token" in message and "token type" not in message
