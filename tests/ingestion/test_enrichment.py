"""Client address, bots, user agents, GeoIP and the cookieless visitor hash."""

import json
from datetime import date

import pytest

from apps.core.http import client_ip
from apps.ingestion import enrichment
from apps.ingestion.models import DailySalt, DroppedEvents, Event
from apps.ingestion.storage import daily_salts_destroy, dropped_events_flush

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.0 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
    "",
]


@pytest.mark.parametrize(
    ("meta", "trusted", "expected"),
    [
        ({"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "81.2.69.142"}, 0, "203.0.113.5"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "81.2.69.142"}, 1, "81.2.69.142"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 81.2.69.142"}, 1, "81.2.69.142"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 81.2.69.142, 10.0.0.1"}, 2, "81.2.69.142"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, 1, "10.0.0.2"),
        ({"REMOTE_ADDR": "10.0.0.2"}, 1, "10.0.0.2"),
    ],
)
def test_client_ip_believes_forwarded_for_only_from_trusted_proxies(meta, trusted, expected):
    assert client_ip(meta, trusted_proxies=trusted) == expected


@pytest.mark.parametrize("user_agent", BOTS)
def test_crawlers_headless_browsers_and_empty_agents_are_bots(user_agent):
    assert enrichment.is_bot(user_agent)


@pytest.mark.parametrize("user_agent", [CHROME_WINDOWS, SAFARI_IPHONE, SAFARI_IPAD, FIREFOX_LINUX])
def test_real_browsers_are_not_bots(user_agent):
    assert not enrichment.is_bot(user_agent)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, ("Chrome", "131", "Windows", "10", "desktop")),
        (SAFARI_IPHONE, ("Mobile Safari", "17", "iOS", "17", "mobile")),
        (SAFARI_IPAD, ("Mobile Safari", "16", "iOS", "16", "tablet")),
        (FIREFOX_LINUX, ("Firefox", "132", "Linux", "", "desktop")),
        (BOTS[0], ("Googlebot", "2", "", "", "bot")),
    ],
)
def test_user_agent_parse_gives_browser_os_major_versions_and_device_type(user_agent, expected):
    parsed = enrichment.user_agent_parse(user_agent)
    assert (
        parsed["browser"],
        parsed["browser_version"],
        parsed["os"],
        parsed["os_version"],
        parsed["device"],
    ) == expected


def test_geo_lookup_from_the_test_networks(geoip):
    assert enrichment.geo_lookup("81.2.69.142") == {"country": "GB", "region": "GB-ENG", "city": "London"}
    assert enrichment.geo_lookup("89.160.20.112")["country"] == "SE"
    assert enrichment.geo_lookup("127.0.0.1") == {"country": "", "region": "", "city": ""}


def test_without_a_geoip_database_places_are_blank(settings):
    settings.CLICKMETER_GEOIP_PATH = ""
    enrichment._geoip_reader.cache_clear()
    assert enrichment.geo_lookup("81.2.69.142") == {"country": "", "region": "", "city": ""}
    enrichment._geoip_reader.cache_clear()


@pytest.mark.django_db
def test_visitor_hash_is_stable_within_a_day_and_unlinkable_across_days_and_properties():
    enrichment._salts.clear()
    day, next_day = date(2026, 11, 21), date(2026, 11, 22)
    base = {"property_public_id": "prop_a", "ip": "81.2.69.142", "user_agent": CHROME_WINDOWS}
    first = enrichment.visitor_hash(day=day, **base)
    assert first == enrichment.visitor_hash(day=day, **base)
    assert first.startswith("h_") and "81.2.69.142" not in first
    assert first != enrichment.visitor_hash(day=next_day, **base)
    assert first != enrichment.visitor_hash(day=day, **{**base, "property_public_id": "prop_b"})
    assert first != enrichment.visitor_hash(day=day, **{**base, "ip": "81.2.69.143"})


@pytest.mark.django_db
def test_salts_of_yesterday_and_older_are_destroyed():
    for day in (date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)):
        DailySalt.objects.create(day=day, salt=b"x" * 32)
    assert daily_salts_destroy(today=date(2026, 11, 22)) == 3
    assert list(DailySalt.objects.values_list("day", flat=True)) == [date(2026, 11, 22)]


def post(client, tenant, events, **headers):
    envelope = {"property_id": tenant.property.public_id, "events": events}
    return client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}",
        **headers,
    )


PAGEVIEW = {"type": "pageview", "context": {"page": {"url": "https://example.com/"}}}


@pytest.mark.django_db
@pytest.mark.parametrize("user_agent", BOTS)
def test_bot_events_are_dropped_counted_and_never_stored(client, tenant_a, user_agent):
    response = post(client, tenant_a, [PAGEVIEW, PAGEVIEW], HTTP_USER_AGENT=user_agent)
    assert response.status_code == 202
    assert response.json()["accepted"] == 0 and response.json()["dropped"] == 2
    assert not Event.objects.exists()
    assert not DroppedEvents.unscoped.exists(), "counted in Redis first: a bot flood does not write to PostgreSQL"
    dropped_events_flush()
    assert DroppedEvents.unscoped.get(property=tenant_a.property, reason="bot").count == 2
    post(client, tenant_a, [PAGEVIEW], HTTP_USER_AGENT=user_agent)
    dropped_events_flush()
    assert DroppedEvents.unscoped.get(property=tenant_a.property, reason="bot").count == 3


@pytest.mark.django_db
def test_disallowed_browser_origin_is_refused_and_counted(client, tenant_a):
    response = post(client, tenant_a, [PAGEVIEW], HTTP_ORIGIN="https://evil.example.net")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert not Event.objects.exists()
    dropped_events_flush()
    assert DroppedEvents.unscoped.get(property=tenant_a.property, reason="origin").count == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("allowed", "origin", "ok"),
    [
        (["https://example.com"], "https://example.com", True),
        (["https://example.com"], "http://example.com", False),
        (["https://example.com"], "https://www.example.com", False),
        (["https://*.example.com"], "https://shop.example.com", True),
        (["https://*.example.com"], "https://a.b.example.com", True),
        (["https://*.example.com"], "https://example.com", False),
        (["https://*.example.com"], "https://badexample.com", False),
        (["http://localhost:3000"], "http://localhost:3000", True),
        ([], "https://example.com", False),
    ],
)
def test_origin_rules(client, db, allowed, origin, ok):
    from tests.conftest import tenant_create

    tenant = tenant_create(allowed_origins=allowed)
    assert post(client, tenant, [PAGEVIEW], HTTP_ORIGIN=origin).status_code == (202 if ok else 403)


@pytest.mark.django_db
def test_server_to_server_ingest_needs_no_origin_even_with_none_allowed(client, db):
    from tests.conftest import tenant_create

    tenant = tenant_create(allowed_origins=[])
    assert post(client, tenant, [PAGEVIEW]).status_code == 202


@pytest.mark.django_db
def test_place_comes_from_the_forwarded_address_behind_a_trusted_proxy(client, tenant_a, geoip, settings):
    settings.CLICKMETER_TRUSTED_PROXIES = 1
    post(client, tenant_a, [PAGEVIEW], REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 81.2.69.142")
    stored = Event.objects.get()
    assert (stored.country, stored.region, stored.city) == ("GB", "GB-ENG", "London")
    assert (stored.browser, stored.os, stored.device) == ("Chrome", "Linux", "desktop")


@pytest.mark.django_db
def test_spoofed_forwarded_header_is_ignored_without_trusted_proxies(client, tenant_a, geoip, settings):
    settings.CLICKMETER_TRUSTED_PROXIES = 0
    post(client, tenant_a, [PAGEVIEW], REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="81.2.69.142")
    assert Event.objects.get().country == ""


@pytest.mark.django_db
def test_events_without_visitor_id_share_the_daily_hash_and_sent_ids_win(client, tenant_a):
    def pageview(event_id, **fields):
        return {**PAGEVIEW, "event_id": event_id, **fields}

    post(client, tenant_a, [pageview("first")], REMOTE_ADDR="81.2.69.142")
    mine = pageview("mine", identity={"visitor_id": "v_mine"})
    post(client, tenant_a, [pageview("again"), mine], REMOTE_ADDR="81.2.69.142")
    post(client, tenant_a, [pageview("elsewhere")], REMOTE_ADDR="89.160.20.112")
    visitors = dict(Event.objects.values_list("event_id", "visitor_id"))
    assert visitors["first"] == visitors["again"] and visitors["first"].startswith("h_")
    assert visitors["mine"] == "v_mine"
    assert visitors["elsewhere"] not in (visitors["first"], "v_mine")


@pytest.mark.django_db
def test_without_redis_drops_are_counted_in_the_database_at_once(client, tenant_a, settings):
    from apps.ingestion import buffer

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    buffer.redis_client.cache_clear()
    post(client, tenant_a, [PAGEVIEW], HTTP_USER_AGENT="curl/8.5.0")
    assert DroppedEvents.unscoped.get(property=tenant_a.property, reason="bot").count == 1


@pytest.mark.django_db
def test_a_flush_that_died_after_taking_the_counts_is_finished_by_the_next(tenant_a):
    from apps.ingestion import buffer

    day = date(2026, 11, 22)
    buffer.drops_count(f"{tenant_a.property.pk}:{day}:bot", 5)
    assert buffer.drops_take() == {f"{tenant_a.property.pk}:{day}:bot": 5}  # then the flusher died
    buffer.drops_count(f"{tenant_a.property.pk}:{day}:bot", 2)
    assert dropped_events_flush() == 1
    assert DroppedEvents.unscoped.get(property=tenant_a.property).count == 5
    dropped_events_flush()
    assert DroppedEvents.unscoped.get(property=tenant_a.property).count == 7
    assert dropped_events_flush() == 0
