"""The error views: JSON under /v1/ whatever the method and credential."""

import pytest

from tests.conftest import jwt_for, session_client_for

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_is_a_json_404_for_every_method_and_credential(tenant_a):
    session = session_client_for(tenant_a.owner)
    session.handler.enforce_csrf_checks = True
    for method in ("get", "post", "delete"):
        response = getattr(session, method)(f"/v1/properties/{tenant_a.property.public_id}/keys/not-a-number/rotate")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("number", ["%C2%B2", "99999999999999999999"])
def test_an_object_number_that_is_no_number_to_the_database_is_a_404(tenant_a, client, number):
    """`²` is a digit to str.isdigit() but not to int(); 20 digits overflow a bigint."""
    owner = {"HTTP_AUTHORIZATION": f"Bearer {jwt_for(tenant_a.owner)}"}
    for method, path in [
        ("delete", f"/v1/organizations/{tenant_a.organization.public_id}/invitations/{number}"),
        ("post", f"/v1/organizations/{tenant_a.organization.public_id}/invitations/{number}/resend"),
        ("patch", f"/v1/organizations/{tenant_a.organization.public_id}/members/{number}"),
    ]:
        response = getattr(client, method)(path, **owner)
        assert response.status_code == 404, (path, response.content)
        assert response.json()["error"]["code"] == "not_found"


def test_a_breakdown_page_number_that_is_no_number_is_a_400_page(tenant_a):
    page = session_client_for(tenant_a.viewer).get(
        f"/properties/{tenant_a.property.public_id}/breakdown/pages?page=%C2%B2"
    )
    assert page.status_code == 400
