"""Tenant isolation over every URL pattern of the project, present and future.

Every route that names a property is called, with every method, with organisation A's keys
against organisation B's property and against a property that does not exist: the two answers
must be identical (nothing of B is visible, changeable, or even confirmed to exist) and never a
success. A route added later is covered without anyone remembering to.
"""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
MISSING = "prop_doesnotexist0000"


def url_patterns(resolver=None, prefix=""):
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def property_routes() -> list[str]:
    routes = [route for route, pattern in url_patterns() if "<str:property_id>" in route]
    assert len(routes) >= 5, routes  # the reports and ingest-token routes at least
    return routes


def call(client, method: str, path: str, key: str):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    if method in ("get", "delete"):
        return getattr(client, method)(path, **auth)
    return getattr(client, method)(path, data=json.dumps({}), content_type="application/json", **auth)


@pytest.mark.parametrize("route", property_routes())
@pytest.mark.parametrize("credential", ["read_key", "write_key"])
def test_another_organisations_property_is_indistinguishable_from_none(client, tenant_a, tenant_b, route, credential):
    key = getattr(tenant_a, credential)
    found_route = False
    for method in METHODS:
        theirs = call(client, method, "/" + route.replace("<str:property_id>", tenant_b.property.public_id), key)
        missing = call(client, method, "/" + route.replace("<str:property_id>", MISSING), key)
        assert theirs.status_code == missing.status_code, (method, route, theirs.content)
        assert theirs.content.replace(tenant_b.property.public_id.encode(), b"") == missing.content.replace(
            MISSING.encode(), b""
        ), (method, route)
        assert not 200 <= theirs.status_code < 300, (method, route, theirs.content)
        found_route |= theirs.status_code == 404
    if credential == "read_key":
        assert found_route, f"{route}: no method reached the property check with a read key"


@pytest.mark.parametrize("route", property_routes())
def test_own_property_is_reachable_so_the_check_above_can_fail(client, tenant_a, route):
    own = "/" + route.replace("<str:property_id>", tenant_a.property.public_id)
    statuses = {method: call(client, method, own, tenant_a.read_key).status_code for method in METHODS}
    assert any(200 <= status < 300 or status == 400 for status in statuses.values()), (route, statuses)
