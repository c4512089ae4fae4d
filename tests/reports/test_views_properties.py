"""The property list: each organisation's properties with 7-day visitors and a server-drawn sparkline."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.reports.periods import period_named, property_today
from apps.reports.selectors import MetricsQuery, properties_visitor_trends
from apps.reports.services import rollup_refresh_dirty_days
from apps.reports.views.presentation import SPARKLINE_HEIGHT, SPARKLINE_PAD, sparkline_points
from tests.accounts.test_views import assert_accessible_page
from tests.conftest import session_client_for
from tests.factories import MembershipFactory, PropertyFactory
from tests.reports.test_views_dashboard import seed

pytestmark = pytest.mark.django_db


def property_list(user):
    return session_client_for(user).get("/")


def row_of(html: str, prop) -> str:
    match = re.search(rf"<tr>\s*<th scope=\"row\"><a href=\"/properties/{prop.public_id}/\">.*?</tr>", html, re.S)
    assert match, f"no row for {prop.public_id}"
    return match.group(0)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/login?next=/")


def test_the_list_renders_accessibly(tenant_a):
    response = property_list(tenant_a.viewer)
    assert response.status_code == 200
    assert_accessible_page(response, "Properties")


def test_each_property_shows_its_distinct_visitors_over_7_days_and_links_dashboard_and_settings(tenant_a):
    prop = tenant_a.property
    today = property_today(prop)
    seed(prop, today, visitor="v1")
    seed(prop, today - timedelta(days=1), visitor="v1")
    seed(prop, today - timedelta(days=6), visitor="v2")
    seed(prop, today - timedelta(days=7), visitor="v3")  # the 8th day back: outside the 7 days
    row = row_of(property_list(tenant_a.viewer).content.decode(), prop)
    # v1 on two days counts once: the total is distinct over the week, not the sum of the days (3).
    assert '<td class="numeric">2</td>' in row
    assert 'aria-label="Unique visitors per day, oldest first: 1, 0, 0, 0, 0, 1, 1"' in row
    assert f'href="/properties/{prop.public_id}/settings"' in row


def test_the_sparkline_is_inline_svg_with_a_point_per_day(tenant_a):
    seed(tenant_a.property, property_today(tenant_a.property), visitor="v1")
    row = row_of(property_list(tenant_a.viewer).content.decode(), tenant_a.property)
    points = re.search(r'<polyline points="([^"]+)"', row).group(1).split()
    assert len(points) == 7
    assert "<script" not in property_list(tenant_a.viewer).content.decode()


def test_only_the_users_own_organisations_are_listed(tenant_a, tenant_b):
    html = property_list(tenant_a.owner).content.decode()
    assert tenant_a.property.name in html and tenant_a.organization.name in html
    assert tenant_b.property.name not in html and tenant_b.organization.name not in html
    assert tenant_b.property.public_id not in html


def test_properties_are_grouped_under_each_organisation_of_the_user(tenant_a, tenant_b):
    MembershipFactory(user=tenant_a.viewer, organization=tenant_b.organization, role="viewer")
    html = property_list(tenant_a.viewer).content.decode()
    first, second = sorted([tenant_a, tenant_b], key=lambda tenant: tenant.organization.name)
    assert (
        html.index(first.organization.name)
        < html.index(first.property.name)
        < html.index(second.organization.name)
        < html.index(second.property.name)
    )


def test_the_list_costs_the_same_queries_for_one_property_as_for_five(tenant_a):
    def queries() -> int:
        cache.clear()  # every trend computed, none read from the report cache
        with CaptureQueriesContext(connection) as captured:
            assert property_list(tenant_a.viewer).status_code == 200
        return len(captured)

    assert tenant_a.organization.properties.count() == 1
    one = queries()
    for _ in range(4):
        PropertyFactory(organization=tenant_a.organization)
    assert queries() == one


def test_the_trends_of_all_properties_equal_each_computed_alone(tenant_a):
    """From rollups and from dirty days' raw events, in each property's own days and timezone."""
    site = tenant_a.property
    tokyo = PropertyFactory(organization=tenant_a.organization, timezone="Asia/Tokyo")
    quiet = PropertyFactory(organization=tenant_a.organization)
    today = property_today(site)
    for offset, visitors in ((6, ["a", "b"]), (3, ["a", "c", "d"]), (8, ["e"])):
        for visitor in visitors:
            seed(site, today - timedelta(days=offset), visitor=visitor)
            seed(tokyo, property_today(tokyo) - timedelta(days=offset), visitor=visitor + "t")
    rollup_refresh_dirty_days(quiet_seconds=0)
    seed(site, today, visitor="b")
    seed(tokyo, property_today(tokyo) - timedelta(days=1), visitor="z")
    periods = {prop: period_named("7d", today=property_today(prop)) for prop in (site, tokyo, quiet)}

    trends = properties_visitor_trends(periods=periods)

    for prop, period in periods.items():
        span = {"property": prop, "date_from": period.date_from, "date_to": period.date_to}
        daily = MetricsQuery(**span, metrics=("unique_visitors",), interval="day").calculate()
        total = MetricsQuery(**span, metrics=("unique_visitors",)).calculate()[0]["unique_visitors"]
        assert trends[prop.pk].daily == [(row["date"], row["unique_visitors"]) for row in daily]
        assert trends[prop.pk].total == total
    assert trends[site.pk].total == 4 and trends[tokyo.pk].total == 5 and trends[quiet.pk].total == 0


def test_sparkline_points_put_the_highest_day_at_the_top_and_zero_at_the_bottom():
    points = [tuple(map(float, point.split(","))) for point in sparkline_points([0, 5, 10]).split()]
    assert [y for _, y in points] == [SPARKLINE_HEIGHT - SPARKLINE_PAD, SPARKLINE_HEIGHT / 2, SPARKLINE_PAD]
    assert points[0][0] < points[1][0] < points[2][0]
    flat = {point.split(",")[1] for point in sparkline_points([0] * 7).split()}
    assert flat == {f"{SPARKLINE_HEIGHT - SPARKLINE_PAD:.1f}"}
