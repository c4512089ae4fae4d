"""The beacon in a real headless Chromium (Debian's), against the real stack on another origin."""

import functools
import http.server
import threading
import time
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from apps.ingestion.models import Event
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import query_parse
from devtools.stack import Stack, free_port, wait_until
from tests.conftest import tenant_create
from tests.e2e.test_pipeline import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

CHROMIUM = "/usr/bin/chromium"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip

PAGE = """<!doctype html>
<html><head><title>Shop</title>
<script defer src="{api}/c.js" data-property="{property}" data-key="{key}" data-outbound {extra}></script>
</head><body>
<a id="away" href="https://shop-partner.example/deal">partner</a>
<script>document.getElementById("away").addEventListener("click", function (e) {{ e.preventDefault(); }});</script>
</body></html>
"""


class PageServer:
    """Serves test pages from a folder on a loopback port: the site that embeds the beacon."""

    def __init__(self, folder):
        self.port = free_port()
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
        handler.log_message = lambda *args: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


@pytest.fixture
def stack(tmp_path, transactional_db):
    stack = Stack(tmp_path, database_url(), web_args=("--workers", "2"))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def site(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    server = PageServer(folder)
    yield folder, server.port
    server.stop()


@contextmanager
def chromium(monkeypatch, args: list[str] = CHROMIUM_ARGS):
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright import sync_api

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls stay
    # synchronous, so Django's guard against ORM use from async code does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()


@pytest.fixture
def browser(monkeypatch):
    with chromium(monkeypatch) as launched:
        yield launched


def write_page(folder, stack, tenant, name="index.html", extra=""):
    html = PAGE.format(api=stack.base_url, property=tenant.property.public_id, key=tenant.write_key, extra=extra)
    (folder / name).write_text(html)


def stored_types(tenant) -> Counter:
    return Counter(Event.objects.filter(property=tenant.property).values_list("type", flat=True))


def open_page(browser, url):
    # A person's Chrome: headless Chromium's own user agent says HeadlessChrome, which is filtered.
    context = browser.new_context(user_agent=CHROME)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("window.clickmeter !== undefined")
    return context, page


def test_pageviews_spa_routes_custom_events_and_outbound_clicks_land_once_even_when_the_tab_closes(
    stack, site, browser
):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=0)
    write_page(folder, stack, tenant)
    context, page = open_page(browser, f"http://localhost:{port}/index.html?utm_source=newsletter&utm_campaign=fall")
    page.evaluate("history.pushState({}, '', '/products')")
    page.evaluate("history.pushState({}, '', '/products')")  # the same URL: no second pageview
    page.evaluate("history.replaceState({}, '', '/products/42')")
    page.evaluate("clickmeter.track('signup', {plan: 'pro'})")
    page.evaluate("clickmeter.track('cta')")
    page.click("#away")
    storage = page.evaluate("localStorage.length + sessionStorage.length")
    context.close()  # mid-batch: nothing has been flushed by the 2 s timer yet

    expected = Counter({"pageview": 3, "signup": 1, "cta": 1, "outbound": 1})
    wait_until(lambda: stored_types(tenant) == expected, timeout=30, message=f"{expected}\n{stack.logs()}")
    assert storage == 0, "no storage is written without consent"
    paths = set(Event.objects.filter(property=tenant.property, type="pageview").values_list("path", flat=True))
    assert paths == {"/index.html", "/products", "/products/42"}
    first = Event.objects.get(property=tenant.property, path="/index.html")
    assert (first.utm_source, first.campaign_key, first.channel) == ("newsletter", "fall", "email")
    assert Event.objects.get(property=tenant.property, type="signup").data == {"plan": "pro"}
    assert Event.objects.get(property=tenant.property, type="outbound").data == {
        "url": "https://shop-partner.example/deal"
    }
    assert first.browser == "Chrome" and first.visitor_id.startswith("h_"), "cookieless daily visitor hash"

    today = datetime.now(UTC).date().isoformat()
    status, report = stack.get(
        f"/v1/properties/{tenant.property.public_id}/metrics?group_by=type&metrics=events&from={today}&to={today}",
        tenant.read_key,
    )
    assert status == 200
    assert {row["type"]: row["events"] for row in report["results"]} == dict(expected)


def test_a_page_on_a_disallowed_origin_is_refused(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=["https://elsewhere.example"], ingest_limit_per_address=0)
    write_page(folder, stack, tenant)
    context, page = open_page(browser, f"http://localhost:{port}/index.html")
    page.evaluate("clickmeter.track('signup')")
    context.close()
    today = datetime.now(UTC).date().isoformat()
    wait_until(
        lambda: stack.redis.cli("hget", "clickmeter:dropped", f"{tenant.property.pk}:{today}:origin") not in ("", "0"),
        timeout=30,
        message="the refused events to be counted",
    )
    time.sleep(1)
    assert not Event.objects.filter(property=tenant.property).exists()


def test_with_consent_the_beacon_keeps_a_visitor_and_a_session_in_storage(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=0)
    write_page(folder, stack, tenant, extra='data-consent="granted"')
    context, page = open_page(browser, f"http://localhost:{port}/index.html")
    visitor = page.evaluate("localStorage.getItem('cm_vid')")
    session = page.evaluate("sessionStorage.getItem('cm_sid')")
    page.evaluate("clickmeter.identify('sha256:abc', {plan: 'pro', seats: 3}); clickmeter.track('signup')")
    context.close()
    wait_until(lambda: Event.objects.filter(property=tenant.property).count() == 3, timeout=30, message="3 events")
    assert visitor and session
    stored = set(Event.objects.filter(property=tenant.property).values_list("visitor_id", "session_id"))
    assert stored == {(visitor, session)}
    assert Event.objects.get(property=tenant.property, type="signup").user_id_hash == "sha256:abc"
    identified = Event.objects.get(property=tenant.property, type="identify")
    assert (identified.user_id_hash, identified.data) == ("sha256:abc", {"plan": "pro", "seats": 3})
    # The trait groups the user's events; the pageview, sent before identify(), has no user.
    today = identified.day.isoformat()
    query = query_parse({"metrics": ["events"], "date_range": [today, today], "dimensions": ["user:props:plan"]})
    rows = query_answer(property=tenant.property, query=query).rows
    assert {row["dimensions"][0]: row["metrics"][0] for row in rows} == {"pro": 2, None: 1}


def test_flush_sends_the_queue_now_and_reset_forgets_the_ids_as_on_sign_out(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=0)
    write_page(folder, stack, tenant, extra='data-consent="granted"')
    context, page = open_page(browser, f"http://localhost:{port}/index.html")
    wait_until(lambda: Event.objects.filter(property=tenant.property).count() == 1, timeout=30, message="the pageview")
    # The queue waits up to 2 s for more events; flush() sends it within the call.
    calls = page.evaluate(
        """() => {
          let sent = 0;
          const fetched = window.fetch;
          window.fetch = (...args) => { sent++; return fetched(...args); };
          clickmeter.track("queued");
          const before = sent;
          clickmeter.flush();
          return [before, sent];
        }"""
    )
    assert calls == [0, 1]
    visitor = page.evaluate("localStorage.getItem('cm_vid')")
    page.evaluate(
        "clickmeter.identify('u-hash'); clickmeter.track('before'); clickmeter.reset(); clickmeter.track('after')"
    )
    page.evaluate("clickmeter.flush()")
    wait_until(lambda: Event.objects.filter(property=tenant.property).count() == 4, timeout=30, message="4 events")
    context.close()
    before = Event.objects.get(property=tenant.property, type="before")
    after = Event.objects.get(property=tenant.property, type="after")
    assert (before.visitor_id, before.user_id_hash) == (visitor, "u-hash")
    assert after.visitor_id and after.visitor_id != visitor and after.user_id_hash == ""


def test_a_flood_from_one_address_hits_429_and_the_beacons_retries_still_land_every_event_once(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=2)
    write_page(folder, stack, tenant)
    context, page = open_page(browser, f"http://localhost:{port}/index.html")
    refused = []
    page.on("response", lambda response: response.status == 429 and refused.append(response.url))
    # The pageview's request (sent by the 2 s timer) opens the address's one-minute window; end that
    # window 10 s from now instead, as a clock moved on would: the 429s then say Retry-After <= 10
    # and the retries land within seconds rather than a minute.
    window = f"clickmeter:ratelimit:address:{tenant.property.pk}:*"
    opened = wait_until(
        lambda: page.wait_for_timeout(100) or stack.redis.cli("--scan", "--pattern", window),
        timeout=30,
        message="the pageview to open the rate-limit window",
    )
    assert stack.redis.cli("expire", opened, "10") == "1"
    for burst in range(3):  # every tenth event flushes a request at once
        page.evaluate(f"for (let i = 0; i < 10; i++) clickmeter.track('burst{burst}', {{i: i}})")
    # Playwright delivers page events only while one of its calls runs: wait inside the page.
    wait_until(lambda: page.wait_for_timeout(100) or refused, timeout=30, message="a 429")
    expected = Counter({"pageview": 1, "burst0": 10, "burst1": 10, "burst2": 10})
    # Retry-After is the rest of the window; the beacon waits for it, then lands once.
    wait_until(lambda: stored_types(tenant) == expected, timeout=60, interval=0.5, message=f"{expected}")
    context.close()
    assert Event.objects.filter(property=tenant.property).values("event_id").distinct().count() == 31


def test_hash_routes_downloads_and_a_signed_token_instead_of_a_key(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=0)
    status, _, minted = stack.request(
        "POST",
        f"/v1/properties/{tenant.property.public_id}/ingest-tokens",
        {"expires_in": 600},
        {"Authorization": f"Bearer {tenant.read_key}"},
    )
    assert status == 201
    html = PAGE.format(api=stack.base_url, property=tenant.property.public_id, key="", extra="")
    html = html.replace('data-key=""', f'data-token="{minted["token"]}" data-hash data-downloads="pdf"')
    html = html.replace('href="https://shop-partner.example/deal"', 'href="/files/price-list.pdf"')
    (folder / "index.html").write_text(html)
    context, page = open_page(browser, f"http://localhost:{port}/index.html#/home")
    page.evaluate("location.hash = '#/pricing'")
    page.wait_for_function("location.hash == '#/pricing'")
    page.click("#away")
    context.close()
    expected = Counter({"pageview": 2, "download": 1})
    wait_until(lambda: stored_types(tenant) == expected, timeout=30, message=f"{expected}\n{stack.logs()}")
    paths = set(Event.objects.filter(property=tenant.property, type="pageview").values_list("path", flat=True))
    assert paths == {"/index.html#/home", "/index.html#/pricing"}
    download = Event.objects.get(property=tenant.property, type="download")
    assert download.data == {"url": f"http://localhost:{port}/files/price-list.pdf"}


def test_with_respect_dnt_global_privacy_control_sends_nothing(stack, site, browser):
    folder, port = site
    tenant = tenant_create(allowed_origins=[f"http://localhost:{port}"], ingest_limit_per_address=0)
    write_page(folder, stack, tenant, extra="data-respect-dnt")
    context = browser.new_context(user_agent=CHROME)
    context.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    page = context.new_page()
    sent = []
    page.on("request", lambda request: "/v1/events" in request.url and sent.append(request.url))
    page.goto(f"http://localhost:{port}/index.html")
    page.wait_for_function("window.clickmeter !== undefined")
    page.evaluate("clickmeter.track('signup'); history.pushState({}, '', '/next')")
    page.wait_for_timeout(2500)  # past the 2 s batch timer
    context.close()
    assert sent == []
    assert not Event.objects.filter(property=tenant.property).exists()
