from django.urls import path

from apps.reports.apis import CampaignsApi, MetricsApi, OverviewApi, PagesApi, PlausibleQueryApi, QueryApi
from apps.reports.funnels import views as funnel_views
from apps.reports.funnels.apis import FunnelApi, FunnelQueryApi, FunnelsApi
from apps.reports.goals import views as goal_views
from apps.reports.goals.apis import GoalApi, GoalsApi
from apps.reports.journeys.apis import JourneyQueryApi
from apps.reports.retention.apis import RetentionQueryApi
from apps.reports.sessions.apis import SessionApi, SessionsApi
from apps.reports.shared_links import views as shared_link_views
from apps.reports.views import dashboard, exports, funnels, journeys, property_list, retention, sessions

urlpatterns = [
    path("v1/properties/<str:property_id>/overview", OverviewApi.as_view(), name="report-overview"),
    path("v1/properties/<str:property_id>/pages", PagesApi.as_view(), name="report-pages"),
    path("v1/properties/<str:property_id>/campaigns", CampaignsApi.as_view(), name="report-campaigns"),
    path("v1/properties/<str:property_id>/metrics", MetricsApi.as_view(), name="report-metrics"),
    path("v1/properties/<str:property_id>/query", QueryApi.as_view(), name="report-query"),
    path("api/v2/query", PlausibleQueryApi.as_view(), name="plausible-query"),
    path("v1/properties/<str:property_id>/goals", GoalsApi.as_view(), name="property-goals"),
    path("v1/properties/<str:property_id>/goals/<int:goal_id>", GoalApi.as_view(), name="property-goal-detail"),
    path("v1/properties/<str:property_id>/funnels", FunnelsApi.as_view(), name="property-funnel-list"),
    path("v1/properties/<str:property_id>/funnels/query", FunnelQueryApi.as_view(), name="property-funnel-query"),
    path("v1/properties/<str:property_id>/funnels/<int:funnel_id>", FunnelApi.as_view(), name="property-funnel-detail"),
    path("v1/properties/<str:property_id>/retention", RetentionQueryApi.as_view(), name="property-retention-query"),
    path("v1/properties/<str:property_id>/journeys", JourneyQueryApi.as_view(), name="property-journey-query"),
    path("v1/properties/<str:property_id>/sessions", SessionsApi.as_view(), name="property-session-list"),
    path(
        "v1/properties/<str:property_id>/sessions/<str:session_id>",
        SessionApi.as_view(),
        name="property-session-detail",
    ),
    path("", property_list.property_list, name="home"),
    path("properties/<str:property_id>/", dashboard.property_dashboard, name="property-dashboard"),
    path("properties/<str:property_id>/breakdown/<str:panel>", dashboard.property_breakdown, name="property-breakdown"),
    path("properties/<str:property_id>/panels/<str:panel>", dashboard.property_panel, name="property-panel"),
    path("properties/<str:property_id>/export/<str:table>.csv", exports.property_export, name="property-export"),
    path("properties/<str:property_id>/live", dashboard.property_live, name="property-live"),
    path("properties/<str:property_id>/realtime", dashboard.property_realtime, name="property-realtime"),
    path(
        "properties/<str:property_id>/realtime/events",
        dashboard.property_live_events,
        name="property-live-events",
    ),
    path("properties/<str:property_id>/funnels/", funnels.property_funnels, name="property-funnels"),
    path("properties/<str:property_id>/retention/", retention.property_retention, name="property-retention"),
    path("properties/<str:property_id>/journeys/", journeys.property_journeys, name="property-journeys"),
    path("properties/<str:property_id>/sessions/", sessions.property_sessions, name="property-sessions"),
    path("properties/<str:property_id>/sessions/<str:session_id>", sessions.property_session, name="property-session"),
    path(
        "properties/<str:property_id>/settings/shared-links",
        shared_link_views.property_shared_link_create,
        name="property-shared-link-create",
    ),
    path(
        "properties/<str:property_id>/settings/shared-links/<int:shared_link_id>/revoke",
        shared_link_views.property_shared_link_revoke,
        name="property-shared-link-revoke",
    ),
    path("properties/<str:property_id>/settings/goals", goal_views.property_goal_create, name="property-goal-create"),
    path(
        "properties/<str:property_id>/settings/goals/<int:goal_id>/delete",
        goal_views.property_goal_delete,
        name="property-goal-delete",
    ),
    path(
        "properties/<str:property_id>/settings/funnels",
        funnel_views.property_funnel_create,
        name="property-funnel-create",
    ),
    path(
        "properties/<str:property_id>/settings/funnels/<int:funnel_id>/delete",
        funnel_views.property_funnel_delete,
        name="property-funnel-delete",
    ),
    path("share/<str:token>", shared_link_views.shared_dashboard, name="shared-dashboard"),
    path("share/<str:token>/breakdown/<str:panel>", shared_link_views.shared_breakdown, name="shared-breakdown"),
    path("share/<str:token>/panels/<str:panel>", shared_link_views.shared_panel, name="shared-panel"),
    path("share/<str:token>/export/<str:table>.csv", shared_link_views.shared_export, name="shared-export"),
    path("share/<str:token>/live", shared_link_views.shared_live, name="shared-live"),
    path("share/<str:token>/realtime", shared_link_views.shared_realtime, name="shared-realtime"),
    path("share/<str:token>/realtime/events", shared_link_views.shared_live_events, name="shared-live-events"),
]
