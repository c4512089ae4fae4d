"""The error views: JSON under /v1/ whatever the method and credential."""

import pytest

from tests.conftest import session_client_for

pytestmark = pytest.mark.django_db


def test_an_unknown_api_path_is_a_json_404_for_every_method_and_credential(tenant_a):
    session = session_client_for(tenant_a.owner)
    session.handler.enforce_csrf_checks = True
    for method in ("get", "post", "delete"):
        response = getattr(session, method)(f"/v1/properties/{tenant_a.property.public_id}/keys/not-a-number/rotate")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
