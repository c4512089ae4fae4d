from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from apps.accounts.models import Organization, User
from apps.ingestion import buffer
from apps.keys import selectors as key_selectors
from apps.keys import services as key_services
from apps.keys.services import property_keys_create
from apps.properties.models import Property
from tests.e2e.stack import BROWSER_USER_AGENT
from tests.factories import MembershipFactory, PropertyFactory


@dataclass
class Tenant:
    organization: Organization
    owner: User
    property: Property
    write_key: str
    read_key: str


def tenant_create(**property_fields) -> Tenant:
    prop = PropertyFactory(**property_fields)
    owner = MembershipFactory(organization=prop.organization).user
    keys = property_keys_create(property=prop)
    return Tenant(prop.organization, owner, prop, keys["write"], keys["read"])


@pytest.fixture(autouse=True)
def _isolated_caches():
    """Start every test with an empty test Redis database and an empty key-lookup cache."""
    buffer.redis_client.cache_clear()
    if settings.REDIS_URL:
        buffer.redis_client().flushdb()
    key_selectors._cache.clear()
    key_services._last_touched.clear()
    yield
    buffer.redis_client.cache_clear()


@pytest.fixture
def tenant_a(db) -> Tenant:
    return tenant_create()


@pytest.fixture
def tenant_b(db) -> Tenant:
    return tenant_create()


@pytest.fixture
def client():
    """A test client that presents itself as a desktop browser (an empty user agent is a bot)."""
    return Client(HTTP_USER_AGENT=BROWSER_USER_AGENT)
