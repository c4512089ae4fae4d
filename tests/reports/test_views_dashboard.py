"""The property dashboard page: who may see it, its period picker, filters, metric cards and chart."""

import json
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.dashboard import CARD_METRICS
from apps.reports.filters import (
    FILTER_FORM_FIELDS,
    DashboardFilter,
    FilterError,
    filter_add_query,
    filter_chips,
    filter_from_form,
    filter_remove_query,
    filters_from_params,
    range_query,
)
from apps.reports.periods import property_today
from apps.reports.queries import vocabulary
from apps.reports.queries.query import CONTAINS, CONTAINS_NOT, IS, IS_NOT, Condition
from apps.reports.queries.vocabulary import dimension_lookup
from apps.reports.templatetags.dashboard import metric_value
from devtools.events import validated_event
from tests.accounts.test_views import assert_accessible_page
from tests.conftest import session_client_for, tenant_create

pytestmark = pytest.mark.django_db


def seed(prop, day: date, *, visitor: str, path: str = "/", session: str | None = None, type: str = "pageview"):
    """Store one event of `visitor` at noon of `day` (the property's day) through the store service."""
    ts = datetime.combine(day, time(12), prop.tzinfo).astimezone(UTC)
    event = validated_event(type=type, ts=ts.isoformat(), path=path, visitor_id=visitor, session_id=session or visitor)
    events_store(batches=[AcceptedBatch(prop.pk, 0, timezone.now(), [event])])


def dashboard(user, prop, query: str = ""):
    return session_client_for(user).get(f"/properties/{prop.public_id}/{query}")


def card_values(html: str) -> dict[str, str]:
    return dict(re.findall(r'id="card-(\w+)".*?class="metric-value">([^<]*)<', html, re.S))


COUNTS = ("unique_visitors", "pageviews", "sessions")


def count_cards(html: str) -> dict[str, str]:
    """The values of the cards that count things: visitors, pageviews and sessions."""
    return {name: value for name, value in card_values(html).items() if name in COUNTS}


def chart_data(html: str) -> dict:
    return json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)[1])


@pytest.fixture
def traffic(tenant_a):
    prop = tenant_a.property
    today = property_today(prop)
    seed(prop, today, visitor="v1", path="/")
    seed(prop, today, visitor="v1", path="/pricing")
    seed(prop, today - timedelta(days=1), visitor="v2", path="/pricing")
    seed(prop, today - timedelta(days=2), visitor="v3", path="/docs")
    # The previous 7 days: one visitor with one pageview.
    seed(prop, today - timedelta(days=10), visitor="v9", path="/")
    return tenant_a


@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_every_member_sees_the_dashboard_with_its_six_cards(traffic, role):
    response = dashboard(traffic.member(role), traffic.property, "?range=7d")
    assert response.status_code == 200
    html = assert_accessible_page(response, traffic.property.name)
    # v1 viewed two pages in one session, v2 and v3 one each: 2 of 3 sessions bounced.
    assert card_values(html) == {
        "unique_visitors": "3",
        "pageviews": "4",
        "sessions": "3",
        "views_per_session": "1.33",
        "bounce_rate": "66.7%",
        "visit_duration": "0s",
    }


def test_cards_show_durations_in_minutes_and_seconds_and_rates_in_percent(tenant_a):
    prop = tenant_a.property
    yesterday = property_today(prop) - timedelta(days=1)
    for offset, path in ((0, "/"), (66, "/pricing")):
        ts = datetime.combine(yesterday, time(9), prop.tzinfo).astimezone(UTC) + timedelta(seconds=offset)
        event = validated_event(ts=ts.isoformat(), path=path, visitor_id="v1", session_id="s1")
        events_store(batches=[AcceptedBatch(prop.pk, 0, timezone.now(), [event])])
    seed(prop, yesterday, visitor="v2", path="/docs")
    cards = card_values(dashboard(tenant_a.viewer, prop, "?range=yesterday").content.decode())
    # Two sessions, 66 s and 0 s long, with 3 pageviews; one bounced.
    assert (cards["visit_duration"], cards["views_per_session"], cards["bounce_rate"]) == ("33s", "1.50", "50%")
    entered_at_home = card_values(dashboard(tenant_a.viewer, prop, "?range=yesterday&f_entry_page=/").content.decode())
    assert (entered_at_home["visit_duration"], entered_at_home["bounce_rate"]) == ("1m 06s", "0%")


def test_every_card_equals_the_reporting_api_for_the_same_range_and_filters(traffic, client):
    today = property_today(traffic.property)
    html = dashboard(traffic.viewer, traffic.property, "?range=30d&f_path=/pricing").content.decode()
    [api] = client.get(
        f"/v1/properties/{traffic.property.public_id}/metrics",
        {
            "from": (today - timedelta(days=29)).isoformat(),
            "to": today.isoformat(),
            "metrics": ",".join(CARD_METRICS),
            "path": "/pricing",
        },
        HTTP_AUTHORIZATION=f"Bearer {traffic.read_key}",
    ).json()["results"]
    assert api["pageviews"] == 2
    assert card_values(html) == {metric: metric_value(api[metric], metric) for metric in CARD_METRICS}


def test_the_cards_show_the_change_against_the_previous_period(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d").content.decode()
    # 3 visitors against 1 in the 7 days before: +200%, good news in green.
    assert re.search(
        r'id="card-unique_visitors".*?class="change change-good">\+200%.*?</span>\s*'
        r'<span class="muted">from 1 in the previous 7 days',
        html,
        re.S,
    )


def test_a_rising_bounce_rate_is_bad_news_and_a_falling_one_good(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d").content.decode()
    # 2 of 3 sessions bounced against 1 of 1 in the 7 days before.
    assert re.search(r'id="card-bounce_rate".*?class="change change-good">\u221233%', html, re.S)
    two_days_ago = property_today(traffic.property) - timedelta(days=2)
    seed(traffic.property, two_days_ago, visitor="v4", path="/")
    seed(traffic.property, two_days_ago, visitor="v4", path="/docs")
    # Yesterday v2 bounced (100%); the day before, v3 bounced and v4 did not (50%).
    html = dashboard(traffic.viewer, traffic.property, "?range=yesterday").content.decode()
    assert re.search(r'id="card-bounce_rate".*?class="change change-bad">\+100%', html, re.S)
    assert re.search(r'id="card-unique_visitors".*?class="change change-bad">\u221250%', html, re.S)


def test_a_card_with_nothing_before_says_so_instead_of_a_percentage(traffic):
    day = (property_today(traffic.property) - timedelta(days=2)).isoformat()
    html = dashboard(traffic.viewer, traffic.property, f"?from={day}&to={day}").content.decode()
    assert card_values(html)["unique_visitors"] == "1"
    assert "Nothing in the previous day to compare with." in html


def test_each_card_links_to_its_chart_keeping_range_and_filters(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d&f_path=/pricing").content.decode()
    links = dict(re.findall(r'id="card-(\w+)">\s*<a href="([^"]*)"', html))
    assert links["pageviews"] == "?range=7d&amp;f_path=%2Fpricing&amp;metric=pageviews"
    assert links["unique_visitors"] == "?range=7d&amp;f_path=%2Fpricing"
    assert re.findall(r'id="card-(\w+)">\s*<a href="[^"]*" aria-current="true"', html) == ["unique_visitors"]
    assert "Unique visitors by day" in html


def test_choosing_a_card_charts_its_metric_beside_the_previous_period(traffic):
    today = property_today(traffic.property)
    html = dashboard(traffic.viewer, traffic.property, "?range=7d&metric=pageviews").content.decode()
    assert re.findall(r'id="card-(\w+)">\s*<a href="[^"]*" aria-current="true"', html) == ["pageviews"]
    chart = chart_data(html)
    assert (chart["label"], chart["unit"], chart["interval"]) == ("Pageviews", "count", "day")
    assert chart["current"] == [0, 0, 0, 0, 1, 1, 2]
    assert chart["previous"] == [0, 0, 0, 1, 0, 0, 0]
    first = datetime.combine(today - timedelta(days=6), time(), UTC)
    assert chart["x"] == [int((first + timedelta(days=n)).timestamp()) for n in range(7)]


def test_a_day_is_charted_by_hour_until_the_current_hour(traffic):
    chart = chart_data(dashboard(traffic.viewer, traffic.property, "?range=today").content.decode())
    assert chart["interval"] == "hour" and len(chart["x"]) == 24
    hour = timezone.now().astimezone(traffic.property.tzinfo).hour
    assert None not in chart["current"][: hour + 1]
    assert chart["current"][hour + 1 :] == [None] * (23 - hour)
    assert chart["current"][12] == (1 if hour >= 12 else None)


def test_without_javascript_the_series_is_a_table_in_the_page(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d&metric=pageviews").content.decode()
    table = re.search(r'<details class="chart-table".*?</details>', html, re.S)[0]
    assert "<summary>Show as table</summary>" in table
    assert "<caption>Pageviews by day, last 7 days, beside the previous period</caption>" in table
    rows = re.findall(r'<tr>\s*<th scope="row">([^<]*)</th>\s*<td class="numeric">([^<]*)</td>', table)
    today = property_today(traffic.property)
    assert rows[-1] == (f"{today:%a} {today.day} {today:%b %Y}", "2")
    assert len(rows) == 7


def test_the_chart_is_drawn_by_a_deferred_script_from_a_data_island_not_inline_code(traffic):
    html = dashboard(traffic.viewer, traffic.property).content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [attributes for attributes, body in scripts if body.strip() and "application/json" not in attributes]
    assert inline == []
    for attributes, _ in scripts:
        assert "application/json" in attributes or " defer " in f"{attributes} ", attributes
    assert '<script defer src="/static/js/dashboard.js"></script>' in html
    assert '<script defer src="/static/vendor/uPlot.iife.min.js"></script>' in html


@pytest.mark.parametrize(("query", "message"), [("?metric=revenue", "no metric"), ("?sources=planets", "no tab")])
def test_an_unknown_metric_or_tab_is_a_clear_400_page(traffic, query, message):
    response = dashboard(traffic.viewer, traffic.property, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and message in html
    assert f'href="/properties/{traffic.property.public_id}/"' in html


def test_an_empty_metric_charts_the_default_one(traffic):
    response = dashboard(traffic.viewer, traffic.property, "?metric=")
    assert response.status_code == 200
    assert chart_data(response.content.decode())["label"] == "Unique visitors"


def test_anonymous_visitors_are_sent_to_sign_in(client, tenant_a):
    path = f"/properties/{tenant_a.property.public_id}/"
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login?next={path}"


def test_another_organisations_property_is_a_404_like_a_missing_one(tenant_a, tenant_b):
    theirs = dashboard(tenant_a.owner, tenant_b.property)
    missing = session_client_for(tenant_a.owner).get("/properties/prop_doesnotexist0000/")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.content.replace(tenant_b.property.public_id.encode(), b"") == missing.content.replace(
        b"prop_doesnotexist0000", b""
    )
    assert tenant_b.property.name.encode() not in theirs.content


def test_the_period_picker_marks_the_current_range_and_keeps_the_filters(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d&f_path=/pricing").content.decode()
    assert '<a href="?range=7d&amp;f_path=%2Fpricing" aria-current="page">Last 7 days</a>' in html
    assert '<a href="?range=30d&amp;f_path=%2Fpricing">Last 30 days</a>' in html
    assert '<input type="hidden" name="f_path" value="/pricing">' in html


def test_a_custom_range_is_read_from_the_url(traffic):
    today = property_today(traffic.property)
    day = (today - timedelta(days=1)).isoformat()
    response = dashboard(traffic.viewer, traffic.property, f"?range=custom&from={day}&to={day}")
    assert response.status_code == 200
    assert count_cards(response.content.decode()) == {"unique_visitors": "1", "pageviews": "1", "sessions": "1"}
    assert f'name="from" value="{day}"' in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?range=custom&from=2026-13-01&to=2026-12-31", "The start date must be a date like 2026-01-31."),
        ("?range=custom&from=2026-05-02&to=2026-05-01", "The start date must not be after the end date."),
        ("?range=custom&from=2026-05-02", "Enter the end date of the custom range."),
        ("?range=forever", "Unknown range"),
    ],
)
def test_a_bad_range_is_explained_on_the_page_not_a_server_error(traffic, query, message):
    response = dashboard(traffic.viewer, traffic.property, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and message in html
    assert "Showing last 30 days instead." in html
    assert card_values(html)["unique_visitors"] == "4"


def test_filters_in_the_url_narrow_every_card_and_show_as_removable_chips(traffic):
    response = dashboard(traffic.viewer, traffic.property, "?range=7d&f_path=/pricing")
    html = response.content.decode()
    assert count_cards(html) == {"unique_visitors": "2", "pageviews": "2", "sessions": "2"}
    assert "Page is <strong>/pricing</strong>" in html
    assert '<a class="chip-remove" href="?range=7d">' in html


def test_filters_combine(traffic):
    html = dashboard(traffic.viewer, traffic.property, "?range=7d&f_path=/pricing&f_type=signup").content.decode()
    assert count_cards(html) == {"unique_visitors": "0", "pageviews": "0", "sessions": "0"}
    assert "Clear all filters" in html


def test_filters_with_operators_narrow_the_cards_and_boxes_as_the_query_api_does(traffic, client):
    prop = traffic.property
    seed(prop, property_today(prop), visitor="v5", path="/pricing/teams")
    for query, visitors in (
        ("f_path.contains=/pricing", "3"),
        ("f_path.is_not=/pricing", "3"),
        ("f_path.contains_not=pric", "2"),
        ("f_path.contains=/pricing&f_path.is_not=/pricing/teams", "2"),
    ):
        html = dashboard(traffic.viewer, prop, f"?range=7d&{query}").content.decode()
        api = client.post(
            f"/v1/properties/{prop.public_id}/query",
            {"metrics": ["visitors", "pageviews", "visits"], "date_range": "7d", "filters": query_filters(query)},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {traffic.read_key}",
        ).json()
        [[api_visitors, api_pageviews, api_visits]] = [row["metrics"] for row in api["results"]]
        assert count_cards(html) == {
            "unique_visitors": visitors,
            "pageviews": str(api_pageviews),
            "sessions": str(api_visits),
        }, query
        assert str(api_visitors) == visitors


def query_filters(query: str) -> list:
    """The dashboard's `f_path.<operator>=…` parameters as the query API's filters."""
    params = QueryDict(query)
    return [
        [name.partition(".")[2] or "is", "event:page", [params[name]]] for name in params if name.startswith("f_path")
    ]


def test_a_custom_property_filter_keeps_the_visits_whose_events_carry_it(tenant_a):
    prop = tenant_a.property
    today = property_today(prop)
    ts = datetime.combine(today, time(12), prop.tzinfo).astimezone(UTC).isoformat()
    events = [
        validated_event(ts=ts, visitor_id="v1", session_id="v1", path="/checkout"),
        validated_event(ts=ts, type="signup", visitor_id="v1", session_id="v1", data={"plan": "pro"}),
        validated_event(ts=ts, type="signup", visitor_id="v2", session_id="v2", data={"plan": "free", "seats": 3}),
        validated_event(ts=ts, visitor_id="v3", session_id="v3", path="/"),
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, timezone.now(), events)])
    html = dashboard(tenant_a.viewer, prop, "?range=today&f_props:plan=pro").content.decode()
    assert count_cards(html) == {"unique_visitors": "1", "pageviews": "0", "sessions": "1"}
    assert "Property “plan” is <strong>pro</strong>" in html
    html = dashboard(tenant_a.viewer, prop, "?range=today&f_props:plan.is_not=pro").content.decode()
    assert count_cards(html)["unique_visitors"] == "3", "events without the property are not `pro`"
    html = dashboard(tenant_a.viewer, prop, "?range=today&f_props:seats=3").content.decode()
    assert count_cards(html)["unique_visitors"] == "1"
    # The event data table's values are links that add the property's filter.
    html = dashboard(tenant_a.viewer, prop, "?range=today&event=signup").content.decode()
    assert 'href="?range=today&amp;event=signup&amp;f_props%3Aplan=pro"' in html


def test_a_user_trait_filter_keeps_the_events_of_the_users_with_it(tenant_a):
    prop = tenant_a.property
    today = property_today(prop)
    ts = datetime.combine(today, time(12), prop.tzinfo).astimezone(UTC).isoformat()
    events = [
        validated_event(ts=ts, visitor_id="v1", session_id="v1", user_id_hash="u1", path="/a"),
        validated_event(ts=ts, visitor_id="v2", session_id="v2", user_id_hash="u2", path="/b"),
        validated_event(ts=ts, visitor_id="v3", session_id="v3", path="/c"),
        validated_event(
            ts=ts, type="identify", visitor_id="v1", session_id="v1", user_id_hash="u1", data={"plan": "pro"}
        ),
        validated_event(
            ts=ts, type="identify", visitor_id="v2", session_id="v2", user_id_hash="u2", data={"plan": "free"}
        ),
    ]
    events_store(batches=[AcceptedBatch(prop.pk, 0, timezone.now(), events)])
    html = dashboard(tenant_a.viewer, prop, "?range=today&f_trait:plan=pro").content.decode()
    assert count_cards(html) == {"unique_visitors": "1", "pageviews": "1", "sessions": "1"}
    assert "Trait “plan” is <strong>pro</strong>" in html
    html = dashboard(tenant_a.viewer, prop, "?range=today&f_trait:plan.is_not=pro").content.decode()
    assert count_cards(html)["pageviews"] == "2", "a visitor without a user has no trait"


def test_the_add_a_filter_form_redirects_to_the_filtered_dashboard(traffic):
    prop = traffic.property
    form = "filter_dimension=path&filter_property=&filter_operator=contains&filter_value=pric"
    response = dashboard(traffic.viewer, prop, f"?range=7d&f_country=FR&{form}")
    assert response.status_code == 302
    assert response["Location"] == f"/properties/{prop.public_id}/?range=7d&f_country=FR&f_path.contains=pric"
    html = dashboard(traffic.viewer, prop, "?range=7d").content.decode()
    assert '<select name="filter_operator"' in html and '<option value="contains_not">does not contain</option>' in html
    response = dashboard(traffic.viewer, prop, "?filter_dimension=planet&filter_operator=is&filter_value=x")
    assert response.status_code == 400
    assert "There is no dimension “planet” to filter by." in response.content.decode()


def test_the_dashboard_needs_no_javascript_and_loads_nothing_from_elsewhere(traffic):
    html = dashboard(traffic.viewer, traffic.property).content.decode()
    assert card_values(html)["pageviews"] == "5"
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_the_member_dashboard_links_its_settings_and_the_property_list(traffic):
    html = dashboard(traffic.viewer, traffic.property).content.decode()
    assert f'href="/properties/{traffic.property.public_id}/settings"' in html
    assert 'href="/"' in html


def test_the_dashboard_counts_days_in_the_propertys_timezone():
    # A timezone whose date differs from UTC's right now: UTC+14 from 10:00 UTC, UTC-11 before.
    far_away = "Pacific/Kiritimati" if timezone.now().hour >= 10 else "Pacific/Pago_Pago"
    tenant = tenant_create(timezone=far_away)
    today = property_today(tenant.property)
    assert today != timezone.now().date()
    seed(tenant.property, today, visitor="late")
    html = dashboard(tenant.viewer, tenant.property, "?range=today").content.decode()
    assert card_values(html)["unique_visitors"] == "1"


# --- Filters in the URL ---------------------------------------------------------------------------


def test_filters_are_read_from_f_parameters_with_their_operators_and_custom_properties():
    params = QueryDict(
        "range=7d&f_country=FR&f_referrer=&f_planet=mars&country=DE&f_path.contains=/blog"
        "&f_browser.is_not=Safari&f_os.like=Linux&f_props:plan=pro&f_props:=x&f_path.contains_not=/draft"
    )
    assert filters_from_params(params) == (
        DashboardFilter("country", IS, "FR"),
        DashboardFilter("referrer", IS, ""),
        DashboardFilter("path", CONTAINS, "/blog"),
        DashboardFilter("browser", IS_NOT, "Safari"),
        DashboardFilter("props:plan", IS, "pro"),
        DashboardFilter("path", CONTAINS_NOT, "/draft"),
    )


def test_a_filter_is_the_engines_condition_on_its_dimension():
    assert DashboardFilter("browser", IS_NOT, "Safari").condition == Condition(
        IS_NOT, vocabulary.DIMENSIONS["visit:browser"], ("Safari",)
    )
    assert DashboardFilter("props:plan", CONTAINS, "pr").condition == Condition(
        CONTAINS, dimension_lookup("event:props:plan"), ("pr",)
    )
    assert DashboardFilter("trait:plan", IS_NOT, "free").condition == Condition(
        IS_NOT, dimension_lookup("user:props:plan"), ("free",)
    )


def test_adding_a_filter_keeps_the_range_and_the_other_filters_and_replaces_its_own():
    params = QueryDict("range=custom&from=2026-01-01&to=2026-01-31&f_country=FR&f_browser=Firefox")
    assert QueryDict(filter_add_query(params, DashboardFilter("country", IS, "DE"))[1:]) == QueryDict(
        "range=custom&from=2026-01-01&to=2026-01-31&f_country=DE&f_browser=Firefox"
    )
    assert QueryDict(filter_add_query(params, DashboardFilter("country", IS_NOT, "DE"))[1:]) == QueryDict(
        "range=custom&from=2026-01-01&to=2026-01-31&f_country=FR&f_browser=Firefox&f_country.is_not=DE"
    )


def test_removing_a_filter_keeps_everything_else():
    params = QueryDict("range=7d&f_country=FR&f_browser=Firefox&f_country.is_not=DE")
    assert filter_remove_query(params, DashboardFilter("country", IS, "FR")) == (
        "?range=7d&f_browser=Firefox&f_country.is_not=DE"
    )
    assert filter_remove_query(QueryDict("f_country=FR"), DashboardFilter("country", IS, "FR")) == "?"


def test_choosing_a_named_range_drops_custom_dates_and_keeps_filters():
    params = QueryDict("range=custom&from=2026-01-01&to=2026-01-31&f_country=FR")
    assert range_query(params, "7d") == "?range=7d&f_country=FR"


def test_the_filter_form_names_what_is_wrong():
    def form(dimension="country", key="", operator=IS, value="FR") -> dict:
        return dict(zip(FILTER_FORM_FIELDS, (dimension, key, operator, value), strict=True))

    assert filter_from_form(form(dimension="props:", key=" plan ", value="pro")) == DashboardFilter(
        "props:plan", IS, "pro"
    )
    assert filter_from_form(form(dimension="trait:", key="plan", value="pro")) == DashboardFilter(
        "trait:plan", IS, "pro"
    )
    for wrong, message in (
        (form(dimension="planet"), "no dimension “planet”"),
        (form(operator="like"), "no filter operator “like”"),
        (form(dimension="props:", key=""), "custom property's name"),
        (form(dimension="trait:", key=""), "trait's name"),
        (form(operator=CONTAINS, value=""), "should contain"),
        (form(value="x" * 1025), "at most 1024"),
    ):
        with pytest.raises(FilterError, match=message):
            filter_from_form(wrong)


def test_chips_name_the_dimension_and_the_operator_and_show_blank_values_as_none():
    chips = filter_chips(QueryDict("f_utm_source=news&f_referrer.is_not=&f_props:plan.contains=pro&f_trait:seats=3"))
    shown = [(c.filter.label, c.filter.operator_label, c.filter.value_label, c.remove_query) for c in chips]
    assert shown == [
        ("UTM source", "is", "news", "?f_referrer.is_not=&f_props%3Aplan.contains=pro&f_trait%3Aseats=3"),
        ("Referrer", "is not", "(none)", "?f_utm_source=news&f_props%3Aplan.contains=pro&f_trait%3Aseats=3"),
        ("Property “plan”", "contains", "pro", "?f_utm_source=news&f_referrer.is_not=&f_trait%3Aseats=3"),
        ("Trait “seats”", "is", "3", "?f_utm_source=news&f_referrer.is_not=&f_props%3Aplan.contains=pro"),
    ]
