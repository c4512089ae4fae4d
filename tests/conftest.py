import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import Organization, User
from apps.core.tenancy import Role
from apps.ingestion import buffer, enrichment
from apps.keys import selectors as key_selectors
from apps.keys import services as key_services
from apps.keys.services import property_keys_create
from apps.properties.models import Property
from apps.properties.selectors import origin_allowed_anywhere
from apps.reports.stores import event_store
from devtools.geoip import geoip_test_database_write
from devtools.stack import BROWSER_USER_AGENT, ClickHouse, clickhouse_cluster, static_files_collect
from tests.factories import MembershipFactory, PropertyFactory


@dataclass
class Tenant:
    """An organisation with one property, its keys, and a member of every role."""

    organization: Organization
    owner: User
    admin: User
    viewer: User
    property: Property
    write_key: str
    read_key: str

    def member(self, role: str) -> User:
        return getattr(self, role)


def tenant_create(**property_fields) -> Tenant:
    prop = PropertyFactory(**property_fields)
    members = {
        role: MembershipFactory(organization=prop.organization, role=role).user
        for role in (Role.OWNER, Role.ADMIN, Role.VIEWER)
    }
    keys = property_keys_create(property=prop)
    return Tenant(
        prop.organization, members["owner"], members["admin"], members["viewer"], prop, keys["write"], keys["read"]
    )


def jwt_for(user: User) -> str:
    """A fresh access token for `user`, as `POST /v1/auth/token` would issue."""
    return str(RefreshToken.for_user(user).access_token)


def member_call(method: str, path: str, *, user=None, via: str = "jwt", body=None, **headers):
    """Call the API as `user` (by JWT or by session), or anonymously; `body` is sent as JSON."""
    if user is not None and via == "session":
        client = session_client_for(user)
    else:
        client = Client(headers={"user-agent": BROWSER_USER_AGENT})
        if user is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {jwt_for(user)}")
    if body is not None:
        headers.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(path, **headers)


def static_root_path(tmp_path_factory) -> Path:
    """Where the run's static files are collected: in the run's temporary directory, which the
    temporary directories of its xdist workers are in."""
    run_dir = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_dir = run_dir.parent
    return run_dir / "static"


_collectstatic = pytest.StashKey[threading.Thread]()


def pytest_sessionstart(session):
    """Start collecting the static files the end-to-end tests' servers serve (half a minute of
    compression) in the background as the run starts, if it runs tests/e2e: the first e2e test of
    each xdist worker would otherwise wait for it, idle, while the other worker collects."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not _runs_e2e(session.config):
        return
    target = static_root_path(session.config._tmp_path_factory)
    session.config.stash[_collectstatic] = thread = threading.Thread(target=static_files_collect, args=(target,))
    thread.start()


def pytest_sessionfinish(session):
    """Leave no collectstatic running after the run (one that selected no e2e test, say)."""
    if thread := session.config.stash.get(_collectstatic, None):
        thread.join()


def _runs_e2e(config) -> bool:
    """Whether the run's paths include tests/e2e (the whole suite does)."""
    e2e = Path(__file__).parent / "e2e"
    paths = [Path(config.rootpath, arg.split("::")[0]).resolve() for arg in config.args]
    return any(path == e2e or e2e in path.parents or path in e2e.parents for path in paths)


def pytest_collection_modifyitems(items):
    """Name each of schemathesis's per-operation tests after its operation in the node id too
    (`test_x[GET /v1/…]`): pytest 9 builds node ids from the bare function name its plugin passes,
    which would give every operation the same id."""
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and not str(item.nodeid).endswith("]"):
            item._id = item.parent.id.child(item.originalname).with_params(label)


def url_patterns(resolver=None, prefix=""):
    """Every URL pattern of the project as (route, pattern), includes flattened."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def session_client_for(user: User) -> Client:
    """A browser-like client signed in as `user` through a Django session."""
    signed_in = Client(headers={"user-agent": BROWSER_USER_AGENT})
    signed_in.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return signed_in


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory):
    """A ClickHouse server process of this run's own (Debian's clickhouse-server, release 18.16)."""
    directory = tmp_path_factory.mktemp("clickhouse")
    server = ClickHouse(directory, directory).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clickhouse_shards(tmp_path_factory):
    """Two ClickHouse server processes, the two shards of the cluster `clickmeter`."""
    shards = clickhouse_cluster(tmp_path_factory.mktemp("cluster"), name="clickmeter", shards=2)
    yield shards
    for shard in shards:
        shard.stop()


@pytest.fixture
def clickhouse_store(settings, clickhouse_server, request):
    """The ClickHouse store switched on for this test (its own database on the run's server), with its schema."""
    settings.CLICKMETER_EVENT_STORE = "clickhouse"
    settings.CLICKHOUSE_URL = clickhouse_server.url(f"test_{uuid.uuid4().hex[:12]}")
    store = event_store()
    store.schema_migrate()
    return store


@pytest.fixture(scope="session", autouse=True)
def _event_store_schema(django_db_setup):
    """A store outside the database gets its schema as a deployment's release does (event_store_migrate)."""
    event_store().schema_migrate()


@pytest.fixture(autouse=True)
def _isolated_caches(monkeypatch):
    """Start every test with an empty test Redis database, thought reachable, and an empty key-lookup cache."""
    monkeypatch.setattr(buffer, "_outage_until", 0.0)
    buffer.redis_client.cache_clear()
    if settings.REDIS_URL:
        buffer.redis_client().flushdb()
    key_selectors._cache.clear()
    key_services._last_touched.clear()
    origin_allowed_anywhere.cache_clear()
    yield
    buffer.redis_client.cache_clear()


# The seconds a test that counts requests to a refusal may take, at most, inside one budget window.
BUDGET_TEST_SECONDS = 10


def budget_window_wait() -> None:
    """Wait, if need be, until BUDGET_TEST_SECONDS are left in the current minute (and so in its hour
    and day): request budgets are counted in fixed windows (apps.core.throttle, the buffer's script),
    and requests on both sides of a window's end would be counted apart, every budget full again."""
    left = 60 - time.time() % 60
    if left < BUDGET_TEST_SECONDS:
        time.sleep(left)


@pytest.fixture
def budget_window():
    """A test that counts requests to a refusal, started where its window has room (budget_window_wait)."""
    budget_window_wait()


@pytest.fixture
def tenant_a(db) -> Tenant:
    return tenant_create()


@pytest.fixture
def tenant_b(db) -> Tenant:
    return tenant_create()


@pytest.fixture
def client():
    """A test client that presents itself as a desktop browser (an empty user agent is a bot)."""
    return Client(headers={"user-agent": BROWSER_USER_AGENT})


@pytest.fixture(scope="session")
def geoip_database(tmp_path_factory):
    return geoip_test_database_write(tmp_path_factory.mktemp("geoip") / "City-Test.mmdb")


@pytest.fixture
def geoip(settings, geoip_database):
    """Enrichment with the test GeoIP database (devtools/geoip.py)."""
    settings.CLICKMETER_GEOIP_PATH = str(geoip_database)
    enrichment._geoip_reader.cache_clear()
    yield
    enrichment._geoip_reader.cache_clear()
