"""The dashboard in a real headless Chromium (Debian's), against the real stack.

Numbers on the page are compared with the reporting API for the same range and filters; filters are
clicked and the URL reloaded; pages are laid out at desktop and phone widths without sideways
scrolling (screenshots are kept in the test's folder); the live counter is watched while events
arrive through the ingest pipeline; a shared link is opened signed out and then revoked; a property
added from the product waits for its first event, sent by its snippet from a site, and opens its
dashboard.
"""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.properties.models import Property
from apps.reports.goals.services import goal_create
from apps.reports.shared_links.services import shared_link_create, shared_link_revoke
from apps.reports.templatetags.dashboard import metric_value
from devtools.events import validated_event
from devtools.stack import Stack, wait_until
from tests.conftest import tenant_create
from tests.e2e.test_beacon_browser import CHROME, CHROMIUM, CHROMIUM_ARGS, PageServer
from tests.e2e.test_pipeline import database_url
from tests.factories import PASSWORD, PropertyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PATHS = ["/", "/pricing", "/docs", "/blog/launch"]
CARDS = ("unique_visitors", "pageviews", "sessions", "views_per_session", "bounce_rate", "visit_duration")
COUNTS = ("unique_visitors", "pageviews", "sessions")
WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.fixture
def stack(tmp_path, transactional_db):
    # Plain http on loopback: cookies that say Secure would never come back.
    insecure_cookies = {"SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false"}
    stack = Stack(tmp_path, database_url(), web_args=("--workers", "2"), **insecure_cookies)
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def browser(monkeypatch):
    from playwright import sync_api

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # see tests/e2e/test_beacon_browser.py
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def seeded_tenant():
    """A property with six days of sessions of one to four pages, from two countries' worth of requests."""
    tenant = tenant_create(ingest_limit_per_address=0)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for country in ("GB", "FR"):
        events = []
        for day in range(6):
            for visitor in range(day + 2):
                start = today - timedelta(days=day) + timedelta(hours=1 + visitor)
                session = f"{country}-{day}-{visitor}"
                for step, path in enumerate(PATHS[: visitor % 4 + 1]):
                    events.append(
                        validated_event(
                            ts=(start + timedelta(minutes=3 * step)).isoformat(),
                            url="https://example.com" + path,
                            path=path,
                            visitor_id=f"{country}-v{visitor}",
                            session_id=session,
                        )
                    )
        batch = AcceptedBatch(0, 0, datetime.now(UTC), events, {"user_agent": CHROME, "country": country})
        events_store(batches=[replace(batch, property_id=tenant.property.pk)])
    return tenant


def with_production_password(user):
    """Hash the user's password with a hasher the stack's production settings know (tests use MD5)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return user


def sign_in(page, stack, user) -> None:
    with_production_password(user)
    page.goto(f"{stack.base_url}/login")
    page.fill("#id_username", user.email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.base_url}/")


def signed_in_page(browser, stack, user, width=WIDTHS["desktop"]):
    context = browser.new_context(user_agent=CHROME, viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, stack, user)
    return context, page


def cards_on(page) -> dict[str, str]:
    return {metric: page.inner_text(f"#card-{metric} .metric-value").strip() for metric in CARDS}


def api_cards(stack, tenant, **filters) -> dict:
    today = datetime.now(UTC).date()
    query = "&".join(f"{name}={value}" for name, value in filters.items())
    path = f"/v1/properties/{tenant.property.public_id}/metrics?from={today - timedelta(days=6)}&to={today}"
    status, body = stack.get(f"{path}&metrics={','.join(CARDS)}&{query}", tenant.read_key)
    assert status == 200, body
    return body["results"][0]


def shown_like_the_page(row: dict) -> dict[str, str]:
    """The API's numbers as the cards print them."""
    return {metric: metric_value(row[metric], metric) for metric in CARDS}


def boxes_loaded(page) -> None:
    """Wait until the boxes the page left for htmx to fetch have arrived."""
    # A locator, not a page function: the pages' CSP allows no evaluated code.
    expect(page.locator(".box[aria-busy=true]")).to_have_count(0)


def assert_fits(page, name: str, tmp_path):
    boxes_loaded(page)
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name}: the page scrolls sideways by {overflow}px"


def test_numbers_equal_the_api_filters_click_through_and_survive_a_reload(stack, browser, tmp_path):
    tenant = seeded_tenant()
    context, page = signed_in_page(browser, stack, tenant.viewer)
    dashboard = f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d"
    page.goto(dashboard)
    assert cards_on(page) == shown_like_the_page(api_cards(stack, tenant))
    page.wait_for_selector(".chart canvas")  # uPlot drew the series

    page.click("#box-locations a[href*='f_country=FR']")
    page.wait_for_url("**f_country=FR**")
    filtered = shown_like_the_page(api_cards(stack, tenant, country="FR"))
    assert cards_on(page) == filtered
    page.click("#box-pages a[href*='f_path=%2Fpricing']")
    page.wait_for_url("**f_path=%2Fpricing**")
    both = shown_like_the_page(api_cards(stack, tenant, country="FR", path="/pricing"))
    assert cards_on(page) == both
    reloaded = page.reload()
    assert cards_on(page) == both, "the filters live in the URL"
    assert 'id="box-pages" aria-labelledby="box-pages-heading" aria-busy="true"' in reloaded.text()
    boxes_loaded(page)  # fetched by htmx after the page, now that the browser has said it runs it
    assert "/pricing" in page.inner_text("#box-pages")
    assert page.locator(".filter-chips .chip").count() == 2
    page.click(".chip:has-text('/pricing') .chip-remove")  # remove the path filter, keep the country
    page.wait_for_url(lambda url: "f_path" not in url)
    assert cards_on(page) == filtered
    context.close()


def query_cards(stack, tenant, filters: list) -> dict[str, str]:
    """The query API's visitors, pageviews and visits for the last 7 days under `filters`, as the cards print them."""
    body = {"metrics": ["visitors", "pageviews", "visits"], "date_range": "7d", "filters": filters}
    path = f"/v1/properties/{tenant.property.public_id}/query"
    status, _, answer = stack.request("POST", path, body, {"Authorization": f"Bearer {tenant.read_key}"})
    assert status == 200, answer
    [metrics] = [row["metrics"] for row in answer["results"]]
    return {metric: metric_value(value, metric) for metric, value in zip(COUNTS, metrics, strict=True)}


def counts_on(page) -> dict[str, str]:
    return {metric: page.inner_text(f"#card-{metric} .metric-value").strip() for metric in COUNTS}


def add_filter(page, dimension: str, operator: str, value: str, *, custom_property: str = "") -> None:
    page.click(".filter-form summary")
    page.select_option("#filter-dimension", dimension)
    page.fill("#filter-property", custom_property)
    page.select_option("#filter-operator", operator)
    page.fill("#filter-value", value)
    page.click(".filter-form button[type=submit]")


def test_filters_with_operators_and_custom_properties_are_added_from_the_form(stack, browser):
    tenant = seeded_tenant()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    signups = [
        validated_event(
            ts=(today + timedelta(hours=1, minutes=1)).isoformat(),
            type="signup",
            visitor_id=f"{country}-v{visitor}",
            session_id=f"{country}-0-{visitor}",
            data={"plan": plan},
        )
        for country, visitor, plan in (("GB", 0, "pro"), ("FR", 1, "pro"), ("FR", 0, "free"))
    ]
    batch = AcceptedBatch(tenant.property.pk, 0, datetime.now(UTC), signups, {"user_agent": CHROME})
    events_store(batches=[batch])
    context, page = signed_in_page(browser, stack, tenant.viewer)
    page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")

    add_filter(page, "path", "contains_not", "pric")
    page.wait_for_url("**f_path.contains_not=pric**")
    expect(page.locator(".chip > span")).to_have_text(["Page does not contain pric"])
    assert counts_on(page) == query_cards(stack, tenant, [["contains_not", "event:page", ["pric"]]])

    add_filter(page, "country", "is_not", "GB")
    page.wait_for_url("**f_country.is_not=GB**")
    both = [["contains_not", "event:page", ["pric"]], ["is_not", "visit:country", ["GB"]]]
    assert counts_on(page) == query_cards(stack, tenant, both)

    page.click(".chip-remove >> nth=0")
    page.wait_for_url(lambda url: "f_path" not in url)
    add_filter(page, "props:", "is", "pro", custom_property="plan")
    page.wait_for_url("**f_props%3Aplan=pro**")
    cards = counts_on(page)
    pro_not_gb = [["is_not", "visit:country", ["GB"]], ["is", "event:props:plan", ["pro"]]]
    assert cards == query_cards(stack, tenant, pro_not_gb)
    assert cards["unique_visitors"] == "1", "of the two pro signups, one came from GB"
    context.close()


def test_tabs_switched_in_place_are_kept_by_every_link_followed_after(stack, browser):
    tenant = seeded_tenant()
    context, page = signed_in_page(browser, stack, tenant.viewer)
    page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
    page.click("#tab-referrers")  # htmx swaps the sources box and pushes the choice into the URL
    page.wait_for_url("**sources=referrers**")
    page.click("#tab-cities")
    page.wait_for_url("**locations=cities**")
    assert "sources=referrers" in page.url
    page.click("#box-pages a[href*='f_path=%2Fpricing']")  # a link rendered before either switch
    page.wait_for_url("**f_path=%2Fpricing**")
    assert "sources=referrers" in page.url and "locations=cities" in page.url
    boxes_loaded(page)
    assert page.get_attribute("#tab-referrers", "aria-current") == "true"
    assert page.get_attribute("#tab-cities", "aria-current") == "true"
    context.close()


def test_pages_fit_desktop_and_phone_widths(stack, browser, tmp_path):
    tenant = seeded_tenant()
    property_path = f"/properties/{tenant.property.public_id}"
    without_events = PropertyFactory(organization=tenant.organization, name="New site")
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.admin, width)
        for label, path in (
            ("list", "/"),
            ("new-property", f"/organizations/{tenant.organization.public_id}/properties/new"),
            ("waiting", f"/properties/{without_events.public_id}/waiting"),
            ("dashboard", f"{property_path}/?range=7d"),
            ("breakdown", f"{property_path}/breakdown/pages?range=7d"),
            ("realtime", f"{property_path}/realtime"),
            ("settings", f"{property_path}/settings"),
        ):
            page.goto(stack.base_url + path)
            assert_fits(page, f"{label}-{name}", tmp_path)
        context.close()


def test_without_javascript_every_number_is_still_on_the_page(stack, browser):
    tenant = seeded_tenant()
    context = browser.new_context(user_agent=CHROME, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, stack, tenant.viewer)
    page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
    assert cards_on(page) == shown_like_the_page(api_cards(stack, tenant))
    assert page.locator("details table td").count() >= 7, "the series as a table"
    context.close()


def test_the_live_counter_follows_events_as_they_arrive(stack, browser):
    tenant = tenant_create(ingest_limit_per_address=0)
    context, page = signed_in_page(browser, stack, tenant.viewer)
    page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/")
    assert page.inner_text("#live-visitors strong").strip() == "0"
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": str(uuid.uuid4()), "type": "pageview", "ts": now, "identity": {"visitor_id": f"live-{n}"}}
        for n in range(3)
    ]
    status, _, body = stack.ingest(tenant.write_key, {"property_id": tenant.property.public_id, "events": events})
    assert (status, body["accepted"]) == (202, 3)
    wait_until(
        lambda: page.inner_text("#live-visitors strong").strip() == "3",
        timeout=45,
        interval=1,
        message=f"the live counter\n{stack.logs()}",
    )
    context.close()


def test_a_shared_link_opens_signed_out_and_stops_when_revoked(stack, browser):
    tenant = seeded_tenant()
    link, token = shared_link_create(property=tenant.property, name="board", password=None, created_by=tenant.admin)
    context = browser.new_context(user_agent=CHROME)
    page = context.new_page()
    response = page.goto(f"{stack.base_url}/share/{token}?range=7d")
    assert response.status == 200
    assert cards_on(page) == shown_like_the_page(api_cards(stack, tenant))
    html = page.content()
    assert tenant.organization.name not in html and "wk_" not in html and "rk_" not in html
    shared_link_revoke(shared_link=link)
    assert page.goto(f"{stack.base_url}/share/{token}?range=7d").status == 404
    context.close()


def test_a_new_property_waits_for_the_first_event_from_its_snippet_then_opens_its_dashboard(stack, browser, tmp_path):
    tenant = tenant_create()
    folder = tmp_path / "site"
    folder.mkdir()
    site = PageServer(folder)
    try:
        context = browser.new_context(user_agent=CHROME, timezone_id="Asia/Tokyo")
        page = context.new_page()
        sign_in(page, stack, tenant.admin)
        page.click(f"a[href='/organizations/{tenant.organization.public_id}/properties/new']")
        page.wait_for_selector("#id_domain")
        # The page's script picks the timezone after the form is parsed; wait for it rather than race it.
        expect(page.locator("#id_timezone")).to_have_value("Asia/Tokyo")
        page.fill("#id_domain", "shop.example")
        page.fill("#id_allowed_origins", f"http://localhost:{site.port}")
        page.click("main button[type=submit]")
        page.wait_for_selector("#first-event")
        prop = Property.unscoped.get(organization=tenant.organization, name="shop.example")
        assert (prop.domains, prop.timezone) == (["shop.example"], "Asia/Tokyo")
        assert "Waiting for the first event" in page.inner_text("main")

        # The site pastes the snippet as the page shows it, and a visitor opens a page of it.
        snippet = page.inner_text("#beacon-snippet")
        (folder / "index.html").write_text(f"<!doctype html><html><head><title>Shop</title>{snippet}</head></html>")
        visitor = browser.new_context(user_agent=CHROME)
        visitor.new_page().goto(f"http://localhost:{site.port}/index.html")
        page.wait_for_url(f"{stack.base_url}/properties/{prop.public_id}/", timeout=45_000)
        assert cards_on(page)["pageviews"] == "1"
        visitor.close()
        context.close()
    finally:
        site.stop()


def test_the_goals_box_equals_the_api_and_filters_the_dashboard_at_both_widths(stack, browser, tmp_path):
    tenant = seeded_tenant()
    goal_create(property=tenant.property, name="Pricing", kind="pageview", path_pattern="/pricing")
    goal_create(property=tenant.property, name="Blog", kind="pageview", path_pattern="/blog/**")
    today = datetime.now(UTC).date()
    path = f"/v1/properties/{tenant.property.public_id}/metrics?from={today - timedelta(days=6)}&to={today}"
    status, body = stack.get(f"{path}&metrics=unique_visitors&group_by=goal", tenant.read_key)
    assert status == 200, body
    expected = [[row["goal"], metric_value(row["unique_visitors"], "unique_visitors")] for row in body["results"]]
    assert [name for name, _ in expected] == ["Pricing", "Blog"]
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.viewer, width)
        page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
        boxes_loaded(page)
        shown = page.eval_on_selector_all(
            "#box-goals tbody tr", "rows => rows.map(r => [r.querySelector('th').innerText.trim(),"
            " r.querySelector('td').innerText.trim()])",
        )  # fmt: skip
        assert shown == expected, name
        assert_fits(page, f"goals-{name}", tmp_path)
        page.click("#box-goals a[href*='f_goal=Pricing']")
        page.wait_for_url("**f_goal=Pricing**")
        assert cards_on(page) == shown_like_the_page(api_cards(stack, tenant, goal="Pricing"))
        assert page.locator(".filter-chips .chip").count() == 1
        context.close()


def test_the_realtime_view_shows_each_event_as_it_is_stored_without_polling(stack, browser):
    tenant = seeded_tenant()
    context, page = signed_in_page(browser, stack, tenant.viewer)
    streams = []
    page.on("request", lambda request: streams.append(request.url) if "/realtime/events" in request.url else None)
    page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/realtime")
    expect(page.locator("#live-events-waiting")).to_be_visible()
    shown = int(page.inner_text("#realtime-pageviews .metric-value"))
    rows, sent = page.locator("#live-events tr"), []

    def send() -> None:
        path = f"/live/{len(sent)}"
        envelope = {
            "property_id": tenant.property.public_id,
            "events": [{"type": "pageview", "context": {"page": {"url": f"https://example.com{path}"}}}],
        }
        assert stack.ingest(tenant.write_key, envelope)[0] == 202
        sent.append(path)

    # An event stored before the stream has subscribed is not in it: send until two have come.
    def two_shown() -> bool:
        send()
        page.wait_for_timeout(1_000)
        return rows.count() >= 2

    wait_until(two_shown, timeout=60, message="two events in the live list")
    # Newest first: the latest sent, in order (any sent before the stream subscribed are missing).
    shown_paths = [rows.nth(n).locator("td").nth(2).inner_text() for n in range(rows.count())]
    assert shown_paths == sent[::-1][: len(shown_paths)]
    expect(page.locator("#live-events-waiting")).to_be_hidden()
    # The report follows the events: its pageviews count them too.
    expect(page.locator("#realtime-pageviews .metric-value")).to_have_text(str(shown + len(sent)), timeout=30_000)
    assert len(streams) == 1, streams  # one stream, not a request per event
    context.close()
