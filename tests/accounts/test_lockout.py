import logging
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user
from django.test import Client, override_settings

from apps.ingestion import buffer
from devtools.stack import BROWSER_USER_AGENT
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.23"


def login(client: Client, email: str, password: str, address: str = ADDRESS):
    return client.post("/login", {"username": email, "password": password}, REMOTE_ADDR=address)


def fail_five_times(client: Client, email: str, address: str = ADDRESS) -> None:
    """Fail to sign in five times; the fifth failure is the one that locks the account out."""
    for _ in range(4):
        assert login(client, email, "not the password", address).status_code == 200
    assert login(client, email, "not the password", address).status_code == 429


def test_five_failures_lock_the_account_out_even_with_the_right_password(client, tenant_a):
    fail_five_times(client, tenant_a.owner.email)
    response = login(client, tenant_a.owner.email, PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "<title>Sign-in locked · Clickmeter</title>" in html
    assert "Too many failed logins for this account from this address; try again in 15 minutes." in html
    assert response["Retry-After"] == "900"
    assert not get_user(client).is_authenticated


def test_the_lockout_is_per_account_case_insensitively(client, tenant_a):
    fail_five_times(client, tenant_a.owner.email.upper())
    assert login(client, tenant_a.owner.email, PASSWORD).status_code == 429


def test_four_failures_do_not_lock_out(client, tenant_a):
    for _ in range(4):
        login(client, tenant_a.owner.email, "not the password")
    assert login(client, tenant_a.owner.email, PASSWORD)["Location"] == "/"


def test_another_account_from_the_same_address_still_signs_in(client, tenant_a):
    fail_five_times(client, tenant_a.owner.email)
    other = Client(headers={"user-agent": BROWSER_USER_AGENT})
    response = login(other, tenant_a.viewer.email, PASSWORD)
    assert response.status_code == 302
    assert get_user(other) == tenant_a.viewer


def test_the_same_account_from_another_address_still_signs_in(client, tenant_a):
    fail_five_times(client, tenant_a.owner.email)
    other = Client(headers={"user-agent": BROWSER_USER_AGENT})
    response = login(other, tenant_a.owner.email, PASSWORD, address=OTHER_ADDRESS)
    assert response.status_code == 302
    assert get_user(other) == tenant_a.owner


def test_the_account_signs_in_again_after_the_cool_off(client, tenant_a):
    with override_settings(AXES_COOLOFF_TIME=timedelta(seconds=1)):
        fail_five_times(client, tenant_a.owner.email)
        assert login(client, tenant_a.owner.email, PASSWORD).status_code == 429
        time.sleep(1.5)
        response = login(client, tenant_a.owner.email, PASSWORD)
    assert response.status_code == 302
    assert get_user(client) == tenant_a.owner


def test_the_lockout_stores_and_logs_no_raw_address(client, tenant_a, caplog):
    caplog.set_level(logging.DEBUG)
    fail_five_times(client, tenant_a.owner.email)
    assert login(client, tenant_a.owner.email, PASSWORD).status_code == 429
    assert login(client, tenant_a.viewer.email, PASSWORD).status_code == 302

    redis = buffer.redis_client()
    keys = list(redis.scan_iter())
    assert keys, "the failure counts should be in the test Redis database"
    for key in keys:
        assert ADDRESS.encode() not in key
        kind = redis.type(key)
        if kind == b"string":
            values = [redis.get(key)]
        elif kind == b"hash":
            values = [*redis.hkeys(key), *redis.hvals(key)]
        elif kind == b"list":
            values = redis.lrange(key, 0, -1)
        elif kind in (b"set", b"zset"):
            values = list(redis.smembers(key)) if kind == b"set" else redis.zrange(key, 0, -1)
        else:
            values = [repr(redis.xrange(key)).encode()]
        assert not any(ADDRESS.encode() in value for value in values), key
    assert ADDRESS not in caplog.text
    assert AccessAttempt.objects.count() == 0
    assert AccessLog.objects.count() == 0
    assert AccessFailureLog.objects.count() == 0
