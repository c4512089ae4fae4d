"""Plausible's, Umami's and PostHog's own trackers, unchanged from npm, in a real headless Chromium,
against the real stack: a site that switched only its tracker's host, whose reports then count
what the page sent."""

import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apps.ingestion.models import Event
from apps.properties.services import property_update
from devtools.stack import wait_until
from tests.conftest import tenant_create
from tests.e2e.test_beacon_browser import CHROME, CHROMIUM_ARGS, chromium
from tests.e2e.test_beacon_browser import site as site  # fixtures of this module too
from tests.e2e.test_beacon_browser import stack as stack

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PEERS = Path(__file__).parent / "peers"
HEAD = '<title>Shop</title><link rel="icon" href="data:,">'  # no favicon request to fail
SITE = "shop.test"
# The site is served as shop.test, as the trackers skip localhost, and automation is not announced:
# Plausible's tracker skips a browser whose navigator.webdriver is set.
PEER_ARGS = [
    *CHROMIUM_ARGS,
    f"--host-resolver-rules=MAP {SITE} 127.0.0.1",
    "--disable-blink-features=AutomationControlled",
]


@pytest.fixture
def browser(monkeypatch):
    with chromium(monkeypatch, PEER_ARGS) as launched:
        yield launched


class WatchedPage:
    """A page in a person's Chrome, and every failed request, error response and console error."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(user_agent=CHROME)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}"))
        self.responses: list[str] = []
        self.page.on("response", lambda r: self.responses.append(f"{r.status} {r.request.method} {r.url}"))
        self.page.goto(url)

    def wait_for(self, expression: str) -> None:
        """Wait for `expression` to hold in the page; on a timeout, fail with what the page saw."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(expression, timeout=60_000)
        except PlaywrightTimeout:
            pytest.fail(f"{expression} never held; responses: {self.responses}; problems: {self.problems}")

    def close(self) -> list[str]:
        self.context.close()
        return [problem for problem in self.problems if "favicon.ico" not in problem]


def stored(tenant) -> Counter:
    return Counter(Event.objects.filter(property=tenant.property).values_list("type", flat=True))


def wait_for_events(stack, tenant, expected: Counter) -> None:
    """Wait for the stored events to be `expected`; on a timeout, fail with what is stored instead."""
    try:
        wait_until(lambda: stored(tenant) == expected, timeout=30, message=f"{expected}")
    except AssertionError:
        assert stored(tenant) == expected, stack.logs()


def reported(stack, tenant) -> Counter:
    today = datetime.now(UTC).date().isoformat()
    path = f"/v1/properties/{tenant.property.public_id}/metrics?group_by=type&metrics=events&from={today}&to={today}"
    status, report = stack.get(path, tenant.read_key)
    assert status == 200
    return Counter({row["type"]: row["events"] for row in report["results"]})


def pageview_paths(tenant) -> set[str]:
    return set(Event.objects.filter(property=tenant.property, type="pageview").values_list("path", flat=True))


def site_tenant(port: int):
    tenant = tenant_create(allowed_origins=[f"http://{SITE}:{port}"], ingest_limit_per_address=0)
    property_update(property=tenant.property, domains=[SITE])
    return tenant


def test_plausibles_npm_tracker_counts_pageviews_spa_routes_and_custom_events_with_props_and_revenue(
    stack, site, browser
):
    folder, port = site
    tenant = site_tenant(port)
    shutil.copy(PEERS / "plausible.js", folder / "plausible.js")
    (folder / "index.html").write_text(f"""<!doctype html><html><head>{HEAD}</head><body>
<script type="module">
import {{ init, track }} from "/plausible.js";
init({{ domain: "{SITE}", endpoint: "{stack.base_url}/api/event" }});
window.buy = () => track("Purchase", {{ props: {{ plan: "pro" }}, revenue: {{ amount: 49.9, currency: "EUR" }} }});
window.signup = () => track("Signup", {{ props: {{ source: "hero" }} }});
</script></body></html>""")
    watched = WatchedPage(browser, f"http://{SITE}:{port}/index.html?utm_source=newsletter")
    page = watched.page
    watched.wait_for("window.buy !== undefined")
    page.evaluate("history.pushState({}, '', '/pricing')")
    page.evaluate("signup(); buy()")
    expected = Counter({"pageview": 2, "Signup": 1, "Purchase": 1})
    wait_for_events(stack, tenant, expected)
    assert watched.close() == []
    assert pageview_paths(tenant) == {"/index.html", "/pricing"}
    assert Event.objects.get(property=tenant.property, type="Purchase").data == {
        "plan": "pro",
        "revenue": "49.9",
        "currency": "EUR",
    }
    landing = Event.objects.get(property=tenant.property, path="/index.html")
    assert landing.utm_source == "newsletter" and landing.visitor_id.startswith("h_"), "cookieless, as Plausible"
    assert reported(stack, tenant) == expected


def test_umamis_tracker_from_this_server_counts_pageviews_spa_routes_and_custom_events_with_data(stack, site, browser):
    folder, port = site
    tenant = site_tenant(port)
    (folder / "index.html").write_text(f"""<!doctype html><html><head>{HEAD}
<script defer src="{stack.base_url}/script.js" data-website-id="{tenant.property.public_id}"></script>
</head><body><button id="cta" data-umami-event="cta-click" data-umami-event-place="hero">Go</button></body></html>""")
    watched = WatchedPage(browser, f"http://{SITE}:{port}/index.html")
    page = watched.page
    watched.wait_for("window.umami !== undefined")
    wait_until(lambda: stored(tenant)["pageview"] == 1, timeout=30, message="the first pageview")
    page.evaluate("history.pushState({}, '', '/pricing')")
    page.evaluate("umami.track('signup', {plan: 'pro'})")
    page.click("#cta")
    expected = Counter({"pageview": 2, "signup": 1, "cta-click": 1})
    wait_for_events(stack, tenant, expected)
    assert watched.close() == []
    assert pageview_paths(tenant) == {"/index.html", "/pricing"}
    assert Event.objects.get(property=tenant.property, type="signup").data == {"plan": "pro"}
    assert Event.objects.get(property=tenant.property, type="cta-click").data == {"place": "hero"}
    assert Event.objects.get(property=tenant.property, path="/index.html").title == "Shop"
    assert reported(stack, tenant) == expected


def test_posthogs_snippet_loads_its_library_from_this_server_and_counts_pageviews_events_and_pageleave(
    stack, site, browser
):
    folder, port = site
    tenant = site_tenant(port)
    snippet = (PEERS / "posthog-snippet.js").read_text()
    options = f"{{api_host: '{stack.base_url}', capture_pageview: 'history_change', autocapture: false}}"
    (folder / "index.html").write_text(f"""<!doctype html><html><head>{HEAD}
<script>{snippet}posthog.init('{tenant.write_key}', {options});</script></head><body></body></html>""")
    watched = WatchedPage(browser, f"http://{SITE}:{port}/index.html")
    page = watched.page
    watched.wait_for("window.posthog && window.posthog.__loaded")
    page.evaluate("history.pushState({}, '', '/pricing')")
    page.evaluate("posthog.capture('signup', {plan: 'pro'})")
    page.evaluate("posthog.identify('user-42', {company: 'Acme'})")
    page.evaluate("posthog.capture('upgrade')")
    sent = Counter({"pageview": 2, "signup": 1, "identify": 1, "upgrade": 1})
    wait_for_events(stack, tenant, sent)  # its 3 s batches
    page.close(run_before_unload=True)  # closing the tab sends $pageleave (on beforeunload)
    expected = sent + Counter({"$pageleave": 1})
    wait_for_events(stack, tenant, expected)
    assert watched.close() == []
    assert pageview_paths(tenant) == {"/index.html", "/pricing"}
    events = Event.objects.filter(property=tenant.property)
    assert events.get(type="signup").data == {"plan": "pro"}
    visitors = set(events.values_list("visitor_id", flat=True))
    assert len(visitors) == 1 and visitors.pop().startswith("ph_"), "PostHog's device id, hashed"
    upgrade = events.get(type="upgrade")
    assert upgrade.user_id_hash and "user-42" not in upgrade.user_id_hash, "the identified id, hashed"
    identified = events.get(type="identify")
    assert (identified.user_id_hash, identified.data) == (upgrade.user_id_hash, {"company": "Acme"}), "its $set"
    assert len(set(events.values_list("session_id", flat=True))) == 1
    assert reported(stack, tenant) == expected
