"""The home page: each organisation's properties with their visitors over the last 7 days."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.accounts.selectors import organizations_of_user
from apps.core.admin import admin_access_allowed
from apps.core.tenancy import Role
from apps.properties.models import Property
from apps.properties.selectors import properties_of_user
from apps.properties.views import role_at_least
from apps.reports.periods import (
    period_named,
    property_today,
)
from apps.reports.selectors import properties_visitor_trends
from apps.reports.views.presentation import SPARKLINE_HEIGHT, SPARKLINE_WIDTH, sparkline_points


@dataclass(frozen=True)
class PropertyRow:
    property: Property
    visitors: int
    daily: list[tuple]
    sparkline_points: str


@require_safe
@login_required
def property_list(request):
    """Each organisation's properties with their unique visitors over the last 7 days (their own
    days) and a sparkline drawn on the server: the same few queries for any number of properties."""
    organizations = list(organizations_of_user(user=request.user))
    properties = list(properties_of_user(user=request.user, organizations=organizations))
    trends = properties_visitor_trends(
        periods={prop: period_named("7d", today=property_today(prop)) for prop in properties}
    )
    rows = defaultdict(list)
    for prop in properties:
        trend = trends[prop.pk]
        rows[prop.organization_id].append(
            PropertyRow(prop, trend.total, trend.daily, sparkline_points([value for _, value in trend.daily]))
        )
    context = {
        "organizations": [
            (organization, rows[organization.pk], role_at_least(request.user, organization.role, Role.ADMIN))
            for organization in organizations
        ],
        "sparkline": {"width": SPARKLINE_WIDTH, "height": SPARKLINE_HEIGHT},
        "admin_allowed": admin_access_allowed(request.user),
    }
    return render(request, "reports/property_list.html", context)
