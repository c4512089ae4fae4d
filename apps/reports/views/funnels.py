"""The dashboard's funnel page: what one of the property's funnels answers for the period and filters
of the dashboard's URL, step by step and broken down (docs/funnels.md)."""

from django.http import Http404
from django.shortcuts import render

from apps.properties.models import Property
from apps.reports.filters import hidden_inputs, query_with
from apps.reports.funnels.selectors import funnel_access, funnel_report, funnels_of_property
from apps.reports.models import Funnel
from apps.reports.queries.vocabulary import PROPS_PREFIX, Dimension, dimension_lookup
from apps.reports.views.dashboard import member_route, range_page_context
from apps.reports.views.presentation import DashboardUrls, PageError, link_params, scope_of

# The funnel page's breakdowns (`?by=`): label and the engine's dimension; `property` takes its key
# from `?by_property=`.
BREAKDOWNS = {
    "source": ("Source", "visit:source"),
    "country": ("Country", "visit:country"),
    "device": ("Device", "visit:device"),
    "browser": ("Browser", "visit:browser"),
    "page": ("Page", "event:page"),
    "property": ("Custom property", ""),
}


def _breakdown(params) -> tuple[str, str, Dimension | None]:
    """The breakdown `?by=` (and `?by_property=`) asks for: its name, its custom property's key and
    the engine's dimension (None for no breakdown)."""
    by = params.get("by", "")
    if not by:
        return "", "", None
    if by not in BREAKDOWNS:
        raise PageError(400, f"There is no breakdown “{by}”: choose one of {', '.join(BREAKDOWNS)}.")
    key = params.get("by_property", "").strip() if by == "property" else ""
    dimension = dimension_lookup(PROPS_PREFIX + key if by == "property" else BREAKDOWNS[by][1])
    if dimension is None:
        raise PageError(400, "A custom property's name is 1 to 128 characters.")
    return by, key, dimension


def funnel_page(request, prop: Property, *, urls: DashboardUrls):
    """The property's funnels: the one `?funnel=` names (else the first by name), each step's visitors,
    conversions, drop-off and median time, and its breakdown by `?by=`, for the period and filters of
    the dashboard's URL. A funnel id that is not the property's is a 404 page."""
    funnels = list(funnels_of_property(property=prop))
    chosen = request.GET.get("funnel")
    funnel: Funnel | None = funnels[0] if funnels else None
    if chosen:
        try:
            funnel = funnel_access(property=prop, funnel_id=chosen)
        except Http404:
            raise PageError(404, "This property has no such funnel.") from None
    by, by_property, dimension = _breakdown(request.GET)
    scope = scope_of(prop, request.GET)
    params = link_params(request.GET, scope)
    answer = (
        funnel_report(property=prop, funnel=funnel, period=scope.period, filters=scope.conditions, dimension=dimension)
        if funnel
        else None
    )
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=request.GET, base_url=urls.url("funnels")),
        "heading": "Funnels",
        "funnel": funnel,
        "funnel_links": [
            {"funnel": found, "query": query_with(params, funnel=str(found.pk)), "current": found == funnel}
            for found in funnels
        ],
        "answer": answer,
        "breakdowns": [(name, label) for name, (label, _) in BREAKDOWNS.items()],
        "by": by,
        "by_property": by_property,
        "by_label": BREAKDOWNS[by][0] if by else "",
        "breakdown_hidden": hidden_inputs(params, exclude={"by", "by_property"}),
    }
    return render(request, "reports/funnels.html", context, status=400 if scope.period_error else 200)


property_funnels = member_route(funnel_page)
