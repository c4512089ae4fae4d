"""The fail-closed door: a tenant model's `objects` runs no query until it is scoped to an actor."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Organization
from apps.core.tenancy import Role, UnscopedQuery
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_resolve
from apps.properties.models import Property, PropertyDomain
from apps.properties.selectors import property_access
from apps.reports.models import SharedLink
from apps.reports.shared_links.services import shared_link_create

pytestmark = pytest.mark.django_db

TENANT_MODELS = (Organization, Membership, Invitation, Property, PropertyDomain, ApiKey, SharedLink)

UNSCOPED_RUNS = {
    "iterate": lambda qs: list(qs),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "first": lambda qs: qs.first(),
    "get": lambda qs: qs.get(pk=0),
    "values_list": lambda qs: list(qs.values_list("pk", flat=True)),
    "aggregate": lambda qs: qs.aggregate(n=__import__("django.db.models", fromlist=["Count"]).Count("pk")),
    "iterator": lambda qs: list(qs.iterator()),
    "update": lambda qs: qs.filter(pk=0).update(pk=0),
    "delete": lambda qs: qs.filter(pk=0).delete(),
    "in_bulk": lambda qs: qs.in_bulk([0]),
}


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model.__name__)
@pytest.mark.parametrize("run", UNSCOPED_RUNS.values(), ids=UNSCOPED_RUNS.keys())
def test_an_unscoped_query_of_objects_is_refused_before_it_reaches_the_database(model, run, tenant_a):
    with pytest.raises(UnscopedQuery):
        run(model.objects.filter(pk__gte=0))


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model.__name__)
def test_scoped_and_unscoped_managers_run(model, tenant_a, tenant_b):
    for n, tenant in enumerate((tenant_a, tenant_b)):
        shared_link_create(property=tenant.property, name="Board")
        PropertyDomain.unscoped.create(property=tenant.property, hostname=f"site{n}.example", position=9)
        Invitation.unscoped.create(
            organization=tenant.organization, email=f"new{n}@example.com", expires_at=timezone.now()
        )
    scoped = model.objects.for_user(tenant_a.owner)
    everything = model.unscoped.all()
    assert set(scoped.values_list("pk", flat=True)) < set(everything.values_list("pk", flat=True))
    assert list(model.objects.none()) == []
    # Chained after the scope, the queryset stays scoped.
    assert scoped.filter(pk__gte=0).order_by("pk").count() == scoped.count()


def test_a_key_reaches_only_its_own_property_and_only_to_view(tenant_a, tenant_b):
    key = api_key_resolve(secret=tenant_a.read_key, kind=ApiKey.Kind.READ)
    assert list(Property.objects.for_actor(key)) == [tenant_a.property]
    assert property_access(actor=key, public_id=tenant_a.property.public_id) == tenant_a.property
    with pytest.raises(Http404):
        property_access(actor=key, public_id=tenant_b.property.public_id)
    with pytest.raises(PermissionDenied):
        property_access(actor=key, public_id=tenant_a.property.public_id, role=Role.ADMIN)
    # Models a key has no business with are empty for it, whatever the property.
    assert list(ApiKey.objects.for_actor(key)) == []
    assert list(Organization.objects.for_actor(key)) == []


def test_a_shared_link_acts_for_its_own_property_only(tenant_a, tenant_b):
    link, _ = shared_link_create(property=tenant_a.property, name="Board")
    assert property_access(actor=link, public_id=tenant_a.property.public_id) == tenant_a.property
    with pytest.raises(Http404):
        property_access(actor=link, public_id=tenant_b.property.public_id)


def test_a_member_reaches_properties_by_role(tenant_a, tenant_b):
    public_id = tenant_a.property.public_id
    assert property_access(actor=tenant_a.viewer, public_id=public_id) == tenant_a.property
    with pytest.raises(PermissionDenied):
        property_access(actor=tenant_a.viewer, public_id=public_id, role=Role.ADMIN)
    with pytest.raises(Http404):
        property_access(actor=tenant_b.owner, public_id=public_id)
