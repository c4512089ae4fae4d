"""The dashboard's retention page: of the people first seen in each day, week or month of the period
and filters of the dashboard's URL, how many came back in each one after, as a triangle
(docs/retention.md)."""

from dataclasses import replace

from django.shortcuts import render

from apps.properties.models import Property
from apps.reports.filters import hidden_inputs
from apps.reports.goals.selectors import goals_of_property
from apps.reports.queries.engine import retention_answer
from apps.reports.queries.query import InvalidQuery
from apps.reports.queries.retention import RetentionQuery, periods_of, retention_query_parse
from apps.reports.retention import IDENTITY
from apps.reports.views.dashboard import member_route, range_page_context
from apps.reports.views.presentation import DashboardUrls, Scope, link_params, scope_of

PERIOD_LABELS = {"day": "Day", "week": "Week", "month": "Month"}
DEFAULT_PERIOD = "week"
# A triangle of more periods than a quarter's days is too wide to read (and to send): the page asks
# for a longer period or a shorter range instead (the API answers up to retention.MAX_PERIODS).
MAX_PAGE_PERIODS = 92


def _query(params, scope: Scope, goals: list[str]) -> RetentionQuery:
    """The retention query the page's choices ask for, read by the engine's parser; raise InvalidQuery
    naming the choice at fault."""
    goal = params.get("goal") or None
    if goal is not None and goal not in goals:
        raise InvalidQuery("This property has no such goal.", field="goal")
    first, last = scope.period.date_from, scope.period.date_to
    period = params.get("period") or DEFAULT_PERIOD
    query = retention_query_parse({"period": period, "date_range": [first.isoformat(), last.isoformat()], "goal": goal})
    if len(periods_of(query.period, first, last)) > MAX_PAGE_PERIODS:
        message = f"This page shows at most {MAX_PAGE_PERIODS} periods: choose longer ones or a shorter range."
        raise InvalidQuery(message, field="period")
    return replace(query, filters=scope.conditions)


def retention_page(request, prop: Property, *, urls: DashboardUrls):
    """The cohorts by `?period=` (day, week or month; week by default), returning by completing the goal
    `?goal=` names or at all, for the period and filters of the dashboard's URL; with the share of
    visitors retention could follow, and what to do when it is none."""
    scope = scope_of(prop, request.GET)
    params = link_params(request.GET, scope)
    goals = [found.name for found in goals_of_property(property=prop)]
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=request.GET, base_url=urls.url("retention")),
        "heading": "Retention",
        "period_choice": request.GET.get("period") or DEFAULT_PERIOD,
        "period_choices": PERIOD_LABELS.items(),
        "goal_choice": request.GET.get("goal", ""),
        "goals": goals,
        "choice_hidden": hidden_inputs(params, exclude={"period", "goal"}),
        "identity": IDENTITY,
    }
    try:
        query = _query(request.GET, scope, goals)
    except InvalidQuery as refusal:
        context["refusal"] = refusal
    else:
        answer = retention_answer(property=prop, query=query)
        context |= {
            "answer": answer,
            "cohort_period": query.period,
            "columns": [f"{PERIOD_LABELS[query.period]} {k}" for k in range(len(answer.cohorts))],
            # The n-th cohort has n periods fewer after it: blank cells square the triangle off.
            "triangle": [{"cohort": cohort, "later": range(n)} for n, cohort in enumerate(answer.cohorts)],
        }
    failed = scope.period_error or "refusal" in context
    return render(request, "reports/retention.html", context, status=400 if failed else 200)


property_retention = member_route(retention_page)
