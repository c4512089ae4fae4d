"""Reports for members: any member of the property's organisation reads them by JWT or session,
like the read key; another organisation's member gets the 404 of a missing property."""

from urllib.parse import urlencode

import pytest

from apps.core.tenancy import Role
from tests.conftest import member_call

pytestmark = pytest.mark.django_db

REPORTS = ("overview", "pages", "campaigns", "metrics")
MISSING_PROPERTY = "prop_doesnotexist0000"
RANGE = {"from": "2026-05-01", "to": "2026-05-07"}


def report(property_id: str, name: str, *, user=None, via: str = "jwt", **headers):
    return member_call("get", f"/v1/properties/{property_id}/{name}?{urlencode(RANGE)}", user=user, via=via, **headers)


@pytest.mark.parametrize("via", ["jwt", "session"])
@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.VIEWER])
@pytest.mark.parametrize("name", REPORTS)
def test_every_member_reads_every_report_like_the_read_key(tenant_a, name, role, via):
    by_member = report(tenant_a.property.public_id, name, user=tenant_a.member(role), via=via)
    by_key = report(tenant_a.property.public_id, name, HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}")
    assert by_member.status_code == 200, by_member.content
    assert by_member.json() == by_key.json()
    assert by_member.json()["property_id"] == tenant_a.property.public_id


@pytest.mark.parametrize("via", ["jwt", "session"])
@pytest.mark.parametrize("name", REPORTS)
def test_another_organisations_member_gets_the_404_of_a_missing_property(tenant_a, tenant_b, name, via):
    theirs = report(tenant_b.property.public_id, name, user=tenant_a.owner, via=via)
    missing = report(MISSING_PROPERTY, name, user=tenant_a.owner, via=via)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


@pytest.mark.parametrize("name", REPORTS)
def test_without_credentials_a_report_is_refused(tenant_a, name):
    response = report(tenant_a.property.public_id, name)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
