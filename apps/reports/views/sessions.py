"""The dashboard's sessions pages: the visits of the period that pass the dashboard's filters, newest
first, a page at a time (`?before=` the last one shown), and one visit with its events in order
(docs/sessions.md)."""

from django.shortcuts import render

from apps.properties.models import Property
from apps.reports.filters import query_with
from apps.reports.queries.engine import visit_answer, visits_answer
from apps.reports.queries.query import DateRange
from apps.reports.queries.visits import VisitsQuery, visit_cursor_parse, visit_cursor_text, visit_id_parse
from apps.reports.views.dashboard import member_route, range_page_context
from apps.reports.views.presentation import DashboardUrls, PageError, link_params, scope_of

PAGE_VISITS = 50
# The page's own parameter: where the page starts; the rest are the dashboard's (period, filters).
BEFORE = "before"


def sessions_page(request, prop: Property, *, urls: DashboardUrls):
    """PAGE_VISITS visits of the period and filters of the dashboard's URL, newest first, from after
    the visit `?before=` names (the last of the page before): each opens on its own page."""
    typed = request.GET.copy()
    typed.pop(BEFORE, None)
    scope = scope_of(prop, typed)
    params = link_params(typed, scope)
    before = None
    if BEFORE in request.GET:
        before = visit_cursor_parse(request.GET[BEFORE])
        if before is None:
            raise PageError(400, "This link to older sessions is not one this page gave: start from the newest.")
    period = scope.period
    query = VisitsQuery(DateRange(first=period.date_from, last=period.date_to), scope.conditions, before, PAGE_VISITS)
    answer = visits_answer(property=prop, query=query)
    # A session's page leads back to this one: the same period, filters and place in the list.
    here = query_with(link_params(request.GET, scope))
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=typed, base_url=urls.url("sessions")),
        "heading": "Sessions",
        "visits": [
            {
                "visit": visit,
                "started": visit.started_at.astimezone(prop.tzinfo),
                "url": urls.url("session", visit.id) + here,
            }
            for visit in answer.visits
        ],
        "older_query": query_with(params, **{BEFORE: visit_cursor_text(answer.next_cursor)})
        if answer.next_cursor
        else None,
        "newest_query": query_with(params) if before else None,
    }
    return render(request, "reports/sessions.html", context, status=400 if scope.period_error else 200)


def session_page(request, prop: Property, *, urls: DashboardUrls, session_id: str):
    """The visit `session_id` names, with every event of it in order; its link back to the list keeps
    the list's period, filters and page."""
    found = visit_id_parse(session_id)
    detail = visit_answer(property=prop, day=found[0], visit_key=found[1]) if found else None
    if detail is None:
        raise PageError(404, "There is no such session in this property's events.")
    typed = request.GET.copy()
    typed.pop(BEFORE, None)
    scope = scope_of(prop, typed)
    params = link_params(typed, scope)
    visit, tz = detail.visit, prop.tzinfo
    context = {
        **range_page_context(prop, urls, scope, params=params, typed=typed, base_url=urls.url("sessions")),
        "heading": "Session",
        "visit": visit,
        "started": visit.started_at.astimezone(tz),
        "ended": visit.ended_at.astimezone(tz),
        "events": [{**event, "local": event["ts"].astimezone(tz)} for event in detail.events],
        "list_url": urls.url("sessions") + query_with(link_params(request.GET, scope)),
    }
    return render(request, "reports/session.html", context)


property_sessions = member_route(sessions_page)
property_session = member_route(session_page)
