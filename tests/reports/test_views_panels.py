"""The dashboard's breakdown boxes, breakdown pages, CSV files, live counter and realtime view, for
members and for shared links."""

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.text import slugify

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.dashboard import BOXES, PANELS
from apps.reports.goals.services import goal_create
from apps.reports.periods import property_today
from apps.reports.shared_links.services import shared_link_create, shared_link_revoke
from apps.reports.views.dashboard import BOXES_FETCHED_COOKIE
from devtools.events import validated_event
from tests.conftest import session_client_for, tenant_create
from tests.reports.test_views_dashboard import count_cards

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def store(prop, events: list[dict], **context) -> None:
    batch = AcceptedBatch(0, 0, timezone.now(), events, {"user_agent": FIREFOX, **context})
    events_store(batches=[replace(batch, property_id=prop.pk)])


def at(prop, days_ago: int, hour: int = 12) -> str:
    """The time `hour`:00 on the property's day `days_ago` days before today, as an ISO string."""
    day = property_today(prop) - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), prop.tzinfo).astimezone(UTC).isoformat()


def pageview(prop, days_ago: int, *, visitor: str, path: str = "/", hour: int = 12, **fields) -> dict:
    return validated_event(
        ts=at(prop, days_ago, hour),
        url="https://example.com" + path,
        path=path,
        visitor_id=visitor,
        session_id=fields.pop("session_id", visitor),
        **fields,
    )


@pytest.fixture
def traffic(tenant_a):
    """Seven days of visits: pages, referrers, a campaign, countries and a custom event with data."""
    prop = tenant_a.property
    store(
        prop,
        [
            pageview(prop, 0, visitor="v1", path="/", referrer="https://news.ycombinator.com/item"),
            pageview(prop, 0, visitor="v1", path="/pricing", hour=13),
            pageview(prop, 1, visitor="v2", path="/pricing", referrer="https://www.google.com/"),
            pageview(prop, 2, visitor="v3", path="/docs", utm_source="newsletter", utm_campaign="spring"),
            validated_event(ts=at(prop, 0, 13), type="signup", visitor_id="v1", session_id="v1", data={"plan": "pro"}),
            validated_event(ts=at(prop, 1, 13), type="signup", visitor_id="v2", session_id="v2", data={"plan": "free"}),
        ],
        country="FR",
        region="FR-IDF",
        city="Paris",
    )
    store(prop, [pageview(prop, 1, visitor="v4", path="/")], country="DE")
    return tenant_a


def get(user, path: str):
    return session_client_for(user).get(path)


def page(tenant, suffix: str = "", query: str = "", user=None):
    return get(user or tenant.viewer, f"/properties/{tenant.property.public_id}/{suffix}{query}")


def box(html: str, key: str) -> str:
    return re.search(rf'<section class="box" id="box-{key}".*?</section>', html, re.S)[0]


def rows(html: str) -> list[tuple[str, str]]:
    """(value, count) of each row of the breakdown tables in `html`."""
    cells = r'<th scope="row" class="cell-text"><a [^>]*>(?:<span class="flag"[^>]*>[^<]*</span> )?(.*?)</a></th>'
    found = re.findall(cells + r'\s*<td class="numeric">([^<]*)<', html, re.S)
    return [(unescape(value), count) for value, count in found]


def current_tab(html: str) -> str:
    return re.search(r'<a id="tab-(\w+)" href="[^"]*" aria-current="true"', html)[1]


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


# --- Boxes and tabs -------------------------------------------------------------------------------


def test_every_box_shows_its_first_panel_with_the_top_rows(traffic):
    html = page(traffic, query="?range=7d").content.decode()
    assert re.findall(r'<section class="box" id="box-(\w+)"', html) == list(BOXES)
    for key, panels in BOXES.items():
        if len(panels) > 1:
            assert current_tab(box(html, key)) == panels[0].key
    # Ties in the order of the values.
    assert rows(box(html, "pages")) == [("/", "2"), ("/pricing", "2"), ("/docs", "1")]
    assert rows(box(html, "locations")) == [("FR", "3"), ("DE", "1")]
    assert "\U0001f1eb\U0001f1f7" in box(html, "locations")  # the French flag
    assert rows(box(html, "events")) == [("signup", "2")]
    assert re.search(r'<caption class="visually-hidden">Top pages by pageviews, last 7 days</caption>', html)


def test_the_boxes_equal_the_reporting_api(traffic, client):
    today = property_today(traffic.property)
    html = page(traffic, query="?range=7d&f_country=FR").content.decode()
    common = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat(), "country": "FR"}
    auth = {"HTTP_AUTHORIZATION": f"Bearer {traffic.read_key}"}
    url = f"/v1/properties/{traffic.property.public_id}/metrics"
    pages = client.get(url, {**common, "metrics": "pageviews", "group_by": "path", "type": "pageview"}, **auth)
    assert rows(box(html, "pages")) == [(row["path"], str(row["pageviews"])) for row in pages.json()["results"]]
    browsers = client.get(url, {**common, "metrics": "unique_visitors", "group_by": "browser"}, **auth)
    assert rows(box(html, "devices")) == [
        (row["browser"], str(row["unique_visitors"])) for row in browsers.json()["results"]
    ]


def test_a_tab_is_a_link_that_keeps_the_rest_of_the_url(traffic):
    html = page(traffic, query="?range=7d&f_country=FR").content.decode()
    tab = re.search(r'<a id="tab-referrers" href="([^"]*)"', html)[1]
    assert unescape(tab) == "?range=7d&f_country=FR&sources=referrers"
    chosen = page(traffic, query=unescape(tab)).content.decode()
    assert current_tab(box(chosen, "sources")) == "referrers"
    assert rows(box(chosen, "sources")) == [("google.com", "1"), ("news.ycombinator.com", "1")]
    assert current_tab(box(chosen, "pages")) == "pages"
    first = re.search(r'<a id="tab-channels" href="([^"]*)"', chosen)[1]
    assert unescape(first) == "?range=7d&f_country=FR"


def test_with_htmx_a_tab_swaps_only_its_box_from_a_fragment(traffic):
    html = page(traffic, query="?range=7d").content.decode()
    tab = re.search(r'<a id="tab-entry_pages"[^>]*>', html)[0]
    prop_id = traffic.property.public_id
    assert f'hx-get="/properties/{prop_id}/panels/entry_pages?range=7d&amp;pages=entry_pages"' in tab
    assert 'hx-target="#box-pages"' in tab and 'hx-swap="outerHTML"' in tab
    assert 'hx-push-url="?range=7d&amp;pages=entry_pages"' in tab
    fragment = page(traffic, "panels/entry_pages", "?range=7d&pages=entry_pages").content.decode()
    assert fragment.lstrip().startswith('<section class="box" id="box-pages"') and "<html" not in fragment
    assert current_tab(fragment) == "entry_pages"
    assert rows(fragment) == [("/", "2"), ("/docs", "1"), ("/pricing", "1")]
    assert 'href="?range=7d&amp;pages=entry_pages&amp;f_entry_page=%2F"' in fragment


def test_a_fragment_names_its_panel_whatever_the_query_says(traffic):
    fragment = page(traffic, "panels/exit_pages", "?range=7d&pages=pages").content.decode()
    assert current_tab(fragment) == "exit_pages"
    assert 'href="?range=7d&amp;pages=exit_pages&amp;f_exit_page=' in fragment


def test_a_page_costs_the_same_queries_whatever_the_tabs(traffic, django_assert_max_num_queries):
    client = session_client_for(traffic.viewer)
    path = f"/properties/{traffic.property.public_id}/"
    # Session and property (3), live counter, imported days, cards and series (2 reports each), two
    # reports per box; a report is its cache key's read, its check for imported totals, then its SQL.
    with django_assert_max_num_queries(5 + 3 * (4 + 2 * len(BOXES))):
        client.get(path)
    with django_assert_max_num_queries(5 + 3 * (4 + 2 * len(BOXES))):
        client.get(path + "?sources=referrers&campaigns=utm_term&pages=exit_pages&locations=cities")


def test_a_browser_running_htmx_fetches_the_same_boxes_after_the_page(traffic, django_assert_max_num_queries):
    query = "?range=7d&f_country=FR&sources=referrers&event=signup"
    full = page(traffic, query=query).content.decode()
    client = session_client_for(traffic.viewer)
    client.cookies[BOXES_FETCHED_COOKIE] = "1"
    # Session and property (3), live counter, imported days, cards and series (2 reports each): no box.
    with django_assert_max_num_queries(5 + 2 * 4):
        shell = client.get(f"/properties/{traffic.property.public_id}/{query}").content.decode()
    for key in BOXES:
        placeholder = re.search(rf'<section class="box" id="box-{key}"[^>]*>', shell, re.S)[0]
        assert 'aria-busy="true"' in placeholder and 'hx-trigger="load"' in placeholder
        fetched = client.get(unescape(re.search(r'hx-get="([^"]*)"', placeholder)[1])).content.decode()
        assert box(fetched, key) == box(full, key), key
    assert "See them on a page of their own" in shell, "a link while the box loads"


def test_a_box_shows_the_top_ten_with_a_link_to_all_of_them(traffic):
    prop = traffic.property
    store(prop, [pageview(prop, 0, visitor=f"w{n}", path=f"/post/{n:02d}") for n in range(12)])
    html = page(traffic, query="?range=7d&f_country=").content.decode()
    pages = box(html, "pages")
    assert len(rows(pages)) == 10
    assert f'<a href="/properties/{prop.public_id}/breakdown/pages?range=7d&amp;f_country=">Show all' in pages
    assert "Show all" not in box(html, "devices") and "breakdown/browsers" not in box(html, "devices")


# --- Filters from rows ----------------------------------------------------------------------------


def test_a_rows_value_filters_the_whole_dashboard_and_filters_combine(traffic):
    html = page(traffic, query="?range=7d").content.decode()
    link = re.search(r'<a href="([^"]*)"[^>]*>/pricing</a>', box(html, "pages"))[1]
    assert unescape(link) == "?range=7d&f_path=%2Fpricing"
    filtered = page(traffic, query=unescape(link)).content.decode()
    assert count_cards(filtered) == {"unique_visitors": "2", "pageviews": "2", "sessions": "2"}
    assert "Page is <strong>/pricing</strong>" in filtered
    assert rows(box(filtered, "locations")) == [("FR", "2")]
    country = re.search(r'<a href="([^"]*)"[^>]*><span class="flag"[^>]*>[^<]*</span> FR</a>', filtered)[1]
    both = page(traffic, query=unescape(country)).content.decode()
    assert "Country is <strong>FR</strong>" in both and "Page is <strong>/pricing</strong>" in both
    chip = r'<a class="chip-remove" href="([^"]*)"><span aria-hidden="true">\u00d7</span>'
    remove_page = re.search(chip + r'<span class="visually-hidden">Remove the filter Page', both)[1]
    assert unescape(remove_page) == "?range=7d&f_country=FR"


# --- Custom events and their data -----------------------------------------------------------------


def test_choosing_an_event_shows_its_data_keys_and_values(traffic):
    html = page(traffic, query="?range=7d").content.decode()
    events = box(html, "events")
    link = re.search(r'<td class="row-action"><a href="([^"]*)"', events)[1]
    assert unescape(link) == "?range=7d&event=signup"
    chosen = box(page(traffic, query="?range=7d&event=signup").content.decode(), "events")
    assert "Data of “signup” events" in chosen
    cells = (
        r'<tr><th scope="row">(\w+)</th><td class="cell-text"><a href="([^"]*)"[^>]*>(\w+)</a></td>'
        r'<td class="numeric">(\d+)'
    )
    data = re.findall(cells, chosen)
    assert sorted(data) == [
        ("plan", "?range=7d&amp;event=signup&amp;f_props%3Aplan=free", "free", "1"),
        ("plan", "?range=7d&amp;event=signup&amp;f_props%3Aplan=pro", "pro", "1"),
    ], "each value links to the dashboard filtered by it"
    hide = r'<a href="\?range=7d" hx-get="[^"]*/panels/events\?range=7d"[^>]*>Hide the event data</a>'
    assert re.search(hide, chosen)


def test_an_event_without_data_says_so(traffic):
    chosen = box(page(traffic, query="?range=7d&event=download").content.decode(), "events")
    assert "No “download” event carried data in this period." in chosen


# --- Breakdown pages ------------------------------------------------------------------------------


@pytest.fixture
def many_pages(traffic):
    prop = traffic.property
    store(prop, [pageview(prop, 0, visitor=f"w{n}", path=f"/post/{n:03d}") for n in range(57)])
    return traffic


def test_a_breakdown_pages_through_all_rows_fifty_at_a_time(many_pages):
    first = page(many_pages, "breakdown/pages", "?range=7d").content.decode()
    assert len(rows(first)) == 50
    assert rows(first)[:2] == [("/", "2"), ("/pricing", "2")]
    assert '<a href="?range=7d&amp;page=2" rel="next">' in first and 'rel="prev"' not in first
    second = page(many_pages, "breakdown/pages", "?range=7d&page=2")
    assert second.status_code == 200
    html = second.content.decode()
    assert len(rows(html)) == 10 and 'rel="next"' not in html
    assert '<a href="?range=7d" rel="prev">' in html
    assert '<td class="numeric rank">51</td>' in html
    assert [value for value, _ in rows(first) + rows(html)] == [
        "/",
        "/pricing",
        *sorted(["/docs", *(f"/post/{n:03d}" for n in range(57))]),
    ]


def test_a_breakdown_keeps_range_and_filters_and_its_rows_filter_the_dashboard(many_pages):
    prop_id = many_pages.property.public_id
    html = page(many_pages, "breakdown/countries", "?range=7d&f_path=/pricing&page=1").content.decode()
    assert rows(html) == [("FR", "2")]
    assert f'href="/properties/{prop_id}/?range=7d&amp;f_path=%2Fpricing&amp;f_country=FR"' in html
    assert f'<form method="get" action="/properties/{prop_id}/breakdown/countries"' in html
    assert "Page is <strong>/pricing</strong>" in html
    assert f'<li><a href="/properties/{prop_id}/?range=7d&amp;f_path=%2Fpricing">' in html  # breadcrumb


@pytest.mark.parametrize(
    ("suffix", "status"),
    [
        ("breakdown/planets", 404),
        ("breakdown/pages?page=3", 404),
        ("breakdown/pages?page=999999999999", 404),
        ("breakdown/pages?page=0", 400),
        ("breakdown/pages?page=two", 400),
        ("breakdown/pages?page=-1", 400),
        ("panels/planets", 404),
        ("panels/pages?range=custom&from=2026-02-30&to=2026-03-01", 400),
        ("export/planets.csv", 404),
        ("export/series.csv?metric=revenue", 400),
        ("export/event-data.csv", 400),
        ("export/pages.csv?range=forever", 400),
    ],
)
def test_bad_parameters_are_a_clear_page_never_a_server_error(many_pages, suffix, status):
    response = page(many_pages, suffix)
    assert response.status_code == status
    assert 'role="alert"' in response.content.decode()


def test_a_bad_range_on_a_breakdown_is_explained_with_the_default_range(traffic):
    response = page(traffic, "breakdown/pages", "?range=custom&from=2026-05-02&to=2026-05-01")
    assert response.status_code == 400
    assert "The start date must not be after the end date." in response.content.decode()


BAD_RANGES = ["range=forever", "range=custom&from=2026-05-02&to=2026-05-01", "from=yesterday"]


def links_of(html: str) -> list[str]:
    """Every link and htmx request of a page, as written (unescaped)."""
    return [unescape(link) for link in re.findall(r'(?:href|hx-get|hx-push-url)="([^"]*)"', html)]


@pytest.mark.parametrize("bad", BAD_RANGES)
@pytest.mark.parametrize("suffix", ["", "breakdown/pages"])
def test_a_bad_range_the_page_replaced_is_in_none_of_its_links_and_its_csv_files_download(traffic, suffix, bad):
    response = page(traffic, suffix, f"?{bad}&f_path=/pricing&sources=referrers")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Showing last 30 days instead." in html
    links = [link for link in links_of(html) if "?" in link]
    assert links and not [link for link in links if re.search(r"[?&](range=(forever|custom)|from=|to=)", link)]
    exports = [link for link in links if "/export/" in link]
    assert exports and all("f_path=%2Fpricing" in link for link in exports), "CSV links keep the filters"
    today = property_today(traffic.property)
    for link in exports:
        path = link if link.startswith("/") else f"/properties/{traffic.property.public_id}/{suffix}{link}"
        exported = get(traffic.viewer, path)
        assert exported.status_code == 200, (link, exported.content[:300])
        assert f"-{today - timedelta(days=29)}-{today}.csv" in exported["Content-Disposition"], (
            "the range the page showed"
        )
    if "from=2026-05-02" in bad:
        assert 'name="from" value="2026-05-02"' in html, "the custom range's fields keep what was typed, to correct it"


# --- CSV ------------------------------------------------------------------------------------------


def test_a_breakdowns_csv_holds_all_its_rows_named_for_property_panel_and_range(many_pages):
    prop = many_pages.property
    response = page(many_pages, "export/pages.csv", "?range=7d")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    today = property_today(prop)
    start = today - timedelta(days=6)
    filename = f"{slugify(prop.name)}-pages-{start}-{today}.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    table = read_csv(response)
    assert table[0] == ["Page", "Pageviews", "Share (%)"]
    assert len(table) == 1 + 60
    assert table[1] == ["/", "2", f"{round(200 / 62, 1)}"]


def test_the_series_csv_has_each_bucket_beside_the_previous_periods(traffic):
    table = read_csv(page(traffic, "export/series.csv", "?range=7d&metric=pageviews"))
    today = property_today(traffic.property)
    assert table[0] == ["Day", "Pageviews", "Previous period's day", "Pageviews, previous period"]
    assert len(table) == 1 + 7
    assert table[-1] == [today.isoformat(), "2", (today - timedelta(days=7)).isoformat(), "0"]
    assert table[-2][1] == "2"  # yesterday: v2 and v4


def test_the_event_data_csv(traffic):
    table = read_csv(page(traffic, "export/event-data.csv", "?range=7d&event=signup"))
    assert table[0] == ["Event", "Key", "Value", "Events", "Unique visitors"]
    assert sorted(table[1:]) == [["signup", "plan", "free", "1", "1"], ["signup", "plan", "pro", "1", "1"]]


def test_event_data_follows_the_pages_session_filters(traffic):
    # v2's session entered on /pricing and signed up on the free plan; v1's entered on /.
    entered = read_csv(page(traffic, "export/event-data.csv", "?range=7d&event=signup&f_entry_page=%2Fpricing"))
    assert entered[1:] == [["signup", "plan", "free", "1", "1"]]


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(tenant_a, value):
    prop = tenant_a.property
    store(
        prop,
        [
            pageview(prop, 0, visitor="v1", utm_source=value, data={"note": value}),
            pageview(prop, 0, visitor="v2", utm_source="safe"),
        ],
    )
    table = read_csv(page(tenant_a, "export/utm_source.csv", "?range=today"))
    assert sorted(row[0] for row in table[1:]) == sorted(["'" + value, "safe"])
    data_table = read_csv(page(tenant_a, "export/event-data.csv", "?range=today&event=pageview"))
    assert data_table[1:] == [["pageview", "note", "'" + value, "1", "1"]]


def test_every_table_on_the_dashboard_links_its_csv(traffic):
    html = page(traffic, query="?range=7d&event=signup").content.decode()
    prop_id = traffic.property.public_id
    links = set(re.findall(rf'href="/properties/{prop_id}/export/([\w-]+)\.csv', html))
    assert links == {"series", "channels", "campaigns", "pages", "countries", "browsers", "events", "event-data"}


# --- Live counter and realtime --------------------------------------------------------------------


@pytest.fixture
def live(tenant_a):
    prop = tenant_a.property
    now = timezone.now()
    store(
        prop,
        [
            validated_event(ts=(now - timedelta(minutes=2)).isoformat(), path="/a", visitor_id="r1", session_id="r1"),
            validated_event(ts=(now - timedelta(minutes=3)).isoformat(), path="/b", visitor_id="r2", session_id="r2"),
            validated_event(ts=(now - timedelta(minutes=20)).isoformat(), path="/a", visitor_id="r3", session_id="r3"),
            validated_event(ts=(now - timedelta(minutes=90)).isoformat(), path="/c", visitor_id="r4", session_id="r4"),
        ],
    )
    return tenant_a


def test_the_header_shows_visitors_of_the_last_five_minutes_and_polls_for_more(live):
    html = page(live).content.decode()
    region = re.search(r'<div class="live-region" aria-live="polite" aria-atomic="true">(.*?)</div>', html, re.S)[1]
    assert "<strong>2</strong> visitors now" in region
    prop_id = live.property.public_id
    assert f'hx-get="/properties/{prop_id}/live?shown=2" hx-trigger="every 15s" hx-swap="outerHTML"' in region
    assert f'href="/properties/{prop_id}/realtime"' in region


def test_the_live_fragment_answers_only_when_the_count_changed(live):
    unchanged = page(live, "live", "?shown=2")
    assert unchanged.status_code == 204 and unchanged.content == b""
    changed = page(live, "live", "?shown=1")
    assert changed.status_code == 200
    fragment = changed.content.decode()
    assert fragment.startswith('<p class="live" id="live-visitors"') and "<strong>2</strong>" in fragment
    assert "live?shown=2" in fragment and "no-cache" in changed["Cache-Control"]


def test_the_realtime_view_shows_the_last_thirty_minutes_and_follows_the_live_stream(live, settings):
    response = page(live, "realtime")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="realtime-unique_visitors">.*?class="metric-value">3<', html, re.S)
    assert re.search(r'id="realtime-pageviews">.*?class="metric-value">3<', html, re.S)
    assert len(re.findall(r"<rect ", html)) == 30
    assert re.findall(r'<th scope="row" class="cell-text">([^<]*)</th><td class="numeric">(\d+)', html)[:2] == [
        ("/a", "2"),
        ("/b", "1"),
    ]
    prop_id = live.property.public_id
    # Fetched again as events arrive (and each minute, as its minutes move on), from the live stream.
    assert (
        f'hx-get="/properties/{prop_id}/realtime" hx-trigger="clickmeter:live from:body throttle:3s, every 60s"' in html
    )
    assert f'data-stream="/properties/{prop_id}/realtime/events"' in html
    assert 'hx-select="#realtime-report"' in html
    assert "<caption>Pageviews per minute, the last 30 minutes</caption>" in html
    # Without Redis there is no stream: the page asks every 15 seconds.
    settings.REDIS_URL = ""
    html = page(live, "realtime").content.decode()
    assert f'hx-get="/properties/{prop_id}/realtime" hx-trigger="every 15s"' in html
    assert "data-stream" not in html


def test_the_realtime_tables_download_as_csv(live):
    prop_id = live.property.public_id
    html = page(live, "realtime").content.decode()
    assert f'href="/properties/{prop_id}/export/realtime-minutes.csv"' in html
    assert f'href="/properties/{prop_id}/export/realtime-pages.csv"' in html
    minutes = read_csv(page(live, "export/realtime-minutes.csv"))
    assert minutes[0] == ["Minute", "Pageviews"] and len(minutes) == 1 + 30
    assert sum(int(pageviews) for _, pageviews in minutes[1:]) == 3
    assert read_csv(page(live, "export/realtime-pages.csv")) == [
        ["Page", "Pageviews", "Visitors"],
        ["/a", "2", "2"],
        ["/b", "1", "1"],
    ]
    assert read_csv(page(live, "export/realtime-sources.csv")) == [["Source", "Pageviews", "Visitors"]]
    assert page(live, "export/realtime-nothing.csv").status_code == 404


def test_the_realtime_view_tells_the_time_in_the_propertys_timezone():
    tenant = tenant_create(timezone="Asia/Kathmandu")  # UTC+05:45: no server timezone looks like it
    html = get(tenant.viewer, f"/properties/{tenant.property.public_id}/realtime").content.decode()
    shown = re.search(r"as of (\d\d:\d\d):\d\d, Asia/Kathmandu time", html)[1]
    local = timezone.now().astimezone(tenant.property.tzinfo)
    assert shown in {local.strftime("%H:%M"), (local - timedelta(minutes=1)).strftime("%H:%M")}
    last_bar = re.findall(r"<title>(\d\d:\d\d): ", html)[-1]
    assert last_bar == shown


# --- Who may see them -----------------------------------------------------------------------------

MEMBER_PAGES = ["", "breakdown/pages", "panels/referrers", "export/pages.csv", "export/series.csv", "live", "realtime"]


@pytest.mark.parametrize("suffix", MEMBER_PAGES)
def test_viewers_see_every_page_read_only(traffic, suffix):
    client = session_client_for(traffic.viewer)
    path = f"/properties/{traffic.property.public_id}/{suffix}"
    assert client.get(path).status_code == 200
    assert client.post(path).status_code == 405


@pytest.mark.parametrize("suffix", MEMBER_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(client, traffic, suffix):
    path = f"/properties/{traffic.property.public_id}/{suffix}"
    response = client.get(path)
    assert (response.status_code, response["Location"]) == (302, f"/login?next={path}")


@pytest.mark.parametrize("suffix", MEMBER_PAGES)
def test_another_organisations_property_is_a_404_like_a_missing_one_on_every_page(tenant_a, tenant_b, suffix):
    client = session_client_for(tenant_a.owner)
    theirs = client.get(f"/properties/{tenant_b.property.public_id}/{suffix}")
    missing = client.get(f"/properties/prop_doesnotexist0000/{suffix}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content == missing.content


# --- Shared links ---------------------------------------------------------------------------------


@pytest.fixture
def shared(traffic):
    _, token = shared_link_create(property=traffic.property, name="Investors")
    return traffic, token


SHARED_PAGES = ["", "/breakdown/pages", "/panels/referrers", "/export/pages.csv", "/live", "/realtime"]


@pytest.mark.parametrize("suffix", SHARED_PAGES)
def test_a_shared_link_opens_every_page_to_anyone_and_exposes_nothing_else(shared, suffix):
    tenant, token = shared
    response = Client().get(f"/share/{token}{suffix}?range=7d")
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex, nofollow" and response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    for secret in (tenant.organization.name, tenant.organization.public_id, tenant.property.public_id, "Investors"):
        assert secret not in body
    for key in tenant.property.api_keys.all():
        assert key.prefix not in body
    assert "settings" not in body.lower() and "/admin" not in body and "/properties" not in body
    assert not re.findall(rf'href="/(?!static/|share/{token}[/?"])', body), "links to other pages of the site"


def test_a_shared_dashboard_links_its_own_pages(shared):
    _, token = shared
    html = Client().get(f"/share/{token}?range=7d").content.decode()
    assert f'hx-get="/share/{token}/panels/referrers?range=7d&amp;sources=referrers"' in html
    assert f'href="/share/{token}/export/series.csv?range=7d"' in html
    assert f'href="/share/{token}/realtime"' in html and f'hx-get="/share/{token}/live?shown=' in html
    breakdown = Client().get(f"/share/{token}/breakdown/pages?range=7d").content.decode()
    assert f'href="/share/{token}?range=7d&amp;f_path=%2Fpricing"' in breakdown
    assert rows(breakdown)[1] == ("/pricing", "2")


def test_a_shared_csv_is_the_members_csv(shared):
    tenant, token = shared
    mine = page(tenant, "export/countries.csv", "?range=7d")
    theirs = Client().get(f"/share/{token}/export/countries.csv?range=7d")
    assert theirs.content == mine.content
    assert theirs["Content-Disposition"] == mine["Content-Disposition"]


@pytest.fixture
def protected(traffic):
    link, token = shared_link_create(property=traffic.property, name="Board", password="open sesame")
    return traffic, link, token


@pytest.mark.parametrize(
    ("suffix", "content"),
    [("/breakdown/pages", "/pricing"), ("/export/pages.csv", "/pricing"), ("/realtime", "Pageviews per minute")],
)
def test_a_protected_links_pages_ask_for_the_password_first(client, protected, suffix, content):
    _, _, token = protected
    response = client.get(f"/share/{token}{suffix}?range=7d")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="password"' in html and content not in html
    unlocked = client.post(f"/share/{token}{suffix}?range=7d", {"password": "open sesame"})
    assert (unlocked.status_code, unlocked["Location"]) == (302, f"/share/{token}{suffix}?range=7d")
    assert content in client.get(f"/share/{token}{suffix}?range=7d").content.decode()


@pytest.mark.parametrize("suffix", ["/panels/referrers", "/live"])
def test_a_protected_links_fragments_are_refused_until_unlocked(client, protected, suffix):
    _, _, token = protected
    assert client.get(f"/share/{token}{suffix}").status_code == 403
    client.post(f"/share/{token}", {"password": "open sesame"})
    assert client.get(f"/share/{token}{suffix}").status_code == 200


@pytest.mark.parametrize("suffix", SHARED_PAGES)
def test_a_revoked_link_closes_every_page(client, protected, suffix):
    _, link, token = protected
    client.post(f"/share/{token}", {"password": "open sesame"})
    shared_link_revoke(shared_link=link)
    response = client.get(f"/share/{token}{suffix}")
    assert response.status_code == 404 and response["Referrer-Policy"] == "no-referrer"


def test_a_bad_parameter_on_a_shared_page_is_a_clear_page_with_the_links_headers(shared):
    _, token = shared
    response = Client().get(f"/share/{token}/breakdown/planets")
    assert response.status_code == 404 and response["X-Robots-Tag"] == "noindex, nofollow"
    html = response.content.decode()
    assert 'role="alert"' in html and f'href="/share/{token}"' in html


def test_every_panel_has_a_box(traffic):
    html = page(traffic, query="?range=7d").content.decode()
    tabs = set(re.findall(r'<a id="tab-(\w+)"', html))
    alone = {panels[0].key for panels in BOXES.values() if len(panels) == 1}  # a box of one panel has no tabs
    assert alone == {"events", "goals"}
    assert tabs | alone == set(PANELS)


# --- Goals ----------------------------------------------------------------------------------------


def test_the_goals_box_counts_converting_visitors_and_filters_the_dashboard_to_them(traffic):
    goal_create(property=traffic.property, name="Pricing", kind="pageview", path_pattern="/pricing")
    goal_create(property=traffic.property, name="Pro signup", kind="event", event_type="signup",
                properties={"plan": "pro"})  # fmt: skip
    html = page(traffic, query="?range=7d").content.decode()
    # v1 and v2 saw /pricing, v1 signed up for pro: of the four visitors, 50 % and 25 %.
    assert rows(box(html, "goals")) == [("Pricing", "2"), ("Pro signup", "1")]
    assert re.search(r"50(\.0)?\s*%", box(html, "goals"))
    link = re.search(r'<a href="([^"]*)"[^>]*>Pro signup</a>', box(html, "goals"))[1]
    assert unescape(link) == "?range=7d&f_goal=Pro+signup"
    filtered = page(traffic, query=unescape(link)).content.decode()
    assert "Goal is <strong>Pro signup</strong>" in filtered
    assert count_cards(filtered)["unique_visitors"] == "1"
    assert rows(box(filtered, "locations")) == [("FR", "1")]
