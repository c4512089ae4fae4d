"""What anyone may call without signing in has a request budget per client address."""

import pytest
from django.core import mail
from django.test import Client

from apps.core.throttle import rate_parse
from apps.ingestion import buffer
from apps.reports.shared_links.services import shared_link_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("budget_window")]

ADDRESS, OTHER_ADDRESS = "203.0.113.7", "198.51.100.9"
PASSWORD = "a-long-enough-pass-phrase-42"


def client_from(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def sign_up(client: Client, n: int):
    return client.post(
        "/signup",
        {
            "email": f"new{n}@example.com",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
            "organization_name": f"Org {n}",
        },
    )


def assert_refused(response, longest_wait: int) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= longest_wait
    assert "Too many requests from this address" in response.content.decode()


def test_rates_read_as_requests_per_period():
    assert rate_parse("10/hour") == (10, 3600)
    assert rate_parse("600/min") == (600, 60)
    with pytest.raises(KeyError):
        rate_parse("5/fortnight")


def test_sign_ups_from_one_address_are_limited_and_no_raw_address_is_kept(settings):
    settings.CLICKMETER_ANONYMOUS_FORM_RATE = "2/hour"
    client = client_from(ADDRESS)
    assert [sign_up(client_from(ADDRESS), n).status_code for n in range(2)] == [302, 302]
    assert_refused(sign_up(client, 2), longest_wait=3600)
    assert client.get("/signup").status_code == 200, "only posted forms are counted"
    assert sign_up(client_from(OTHER_ADDRESS), 3).status_code == 302, "another address has its own budget"

    redis = buffer.redis_client()
    for key in redis.scan_iter():
        assert ADDRESS.encode() not in key
        if redis.type(key) == b"string":
            assert ADDRESS.encode() not in redis.get(key)


def test_password_reset_mails_from_one_address_are_limited(settings, tenant_a):
    settings.CLICKMETER_ANONYMOUS_FORM_RATE = "2/hour"
    client = client_from(ADDRESS)
    for _ in range(2):
        assert client.post("/password-reset", {"email": tenant_a.owner.email}).status_code == 302
    assert_refused(client.post("/password-reset", {"email": tenant_a.owner.email}), longest_wait=3600)
    assert len(mail.outbox) == 2, "a refused request sends nothing"


def test_shared_dashboard_requests_from_one_address_are_limited(settings, tenant_a):
    settings.CLICKMETER_SHARED_LINK_RATE = "3/min"
    _, token = shared_link_create(property=tenant_a.property, name="Public")
    client = client_from(ADDRESS)
    assert [client.get(f"/share/{token}?range=today").status_code for _ in range(3)] == [200, 200, 200]
    assert_refused(client.get(f"/share/{token}/live"), longest_wait=60)
    assert_refused(client.get("/share/sl_not-a-real-token"), longest_wait=60)  # probing tokens costs the same
    assert client_from(OTHER_ADDRESS).get(f"/share/{token}?range=today").status_code == 200
