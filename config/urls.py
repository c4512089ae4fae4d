from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path, re_path
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.accounts import apis as account_apis
from apps.accounts import views as account_views
from apps.core import health
from apps.core.views import api_not_found, server_error
from apps.ingestion import views as ingestion_views
from apps.ingestion.apis import EventIngestApi
from apps.keys.apis import ApiKeyApi, ApiKeyRotateApi, ApiKeysApi, IngestTokenCreateApi, PropertiesApi, PropertyApi
from apps.reports import views as report_views
from apps.reports.apis import CampaignsApi, MetricsApi, OverviewApi, PagesApi

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("v1/events", EventIngestApi.as_view(), name="events-ingest"),
    path("c.js", ingestion_views.beacon_js, name="beacon"),
    path("c/<str:version>.js", ingestion_views.beacon_js_versioned, name="beacon-versioned"),
    path("v1/properties/<str:property_id>/overview", OverviewApi.as_view(), name="report-overview"),
    path("v1/properties/<str:property_id>/pages", PagesApi.as_view(), name="report-pages"),
    path("v1/properties/<str:property_id>/campaigns", CampaignsApi.as_view(), name="report-campaigns"),
    path("v1/properties/<str:property_id>/metrics", MetricsApi.as_view(), name="report-metrics"),
    path("v1/properties/<str:property_id>/ingest-tokens", IngestTokenCreateApi.as_view(), name="ingest-tokens"),
    path("admin/", admin.site.urls),
    path("v1/auth/token", account_apis.TokenObtainApi.as_view(), name="auth-token"),
    path("v1/auth/token/refresh", account_apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("v1/auth/logout", account_apis.LogoutApi.as_view(), name="auth-logout"),
    path("v1/organizations", account_apis.OrganizationsApi.as_view(), name="organizations"),
    path(
        "v1/organizations/<str:organization_id>",
        account_apis.OrganizationApi.as_view(),
        name="organization-detail",
    ),
    path(
        "v1/organizations/<str:organization_id>/members",
        account_apis.MembersApi.as_view(),
        name="organization-members",
    ),
    path(
        "v1/organizations/<str:organization_id>/members/<str:member_id>",
        account_apis.MemberApi.as_view(),
        name="organization-member-detail",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations",
        account_apis.InvitationsApi.as_view(),
        name="organization-invitations",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations/<str:invitation_id>",
        account_apis.InvitationApi.as_view(),
        name="organization-invitation-detail",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations/<str:invitation_id>/resend",
        account_apis.InvitationResendApi.as_view(),
        name="organization-invitation-resend",
    ),
    path("v1/properties", PropertiesApi.as_view(), name="properties"),
    path("v1/properties/<str:property_id>", PropertyApi.as_view(), name="property-detail"),
    path("v1/properties/<str:property_id>/keys", ApiKeysApi.as_view(), name="property-keys"),
    path("v1/properties/<str:property_id>/keys/<int:key_id>", ApiKeyApi.as_view(), name="property-key-detail"),
    path(
        "v1/properties/<str:property_id>/keys/<int:key_id>/rotate",
        ApiKeyRotateApi.as_view(),
        name="property-key-rotation",
    ),
    # The schema has a renderer of its own: the API's orjson renderer cannot render one.
    path("v1/schema", SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer]), name="api-schema"),
    path("v1/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", report_views.property_list, name="home"),
    path("signup", account_views.signup, name="signup"),
    path("login", account_views.login_view, name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password-reset", account_views.password_reset_view, name="password_reset"),
    path("password-reset/sent", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitations/<str:token>", account_views.invitation_accept, name="invitation-accept"),
    path("organizations/<str:organization_id>/properties/new", report_views.property_new, name="property-new"),
    path("properties/<str:property_id>/waiting", report_views.property_waiting, name="property-waiting"),
    path("properties/<str:property_id>/first-event", report_views.property_first_event, name="property-first-event"),
    path("properties/<str:property_id>/", report_views.property_dashboard, name="property-dashboard"),
    path(
        "properties/<str:property_id>/breakdown/<str:panel>", report_views.property_breakdown, name="property-breakdown"
    ),
    path("properties/<str:property_id>/panels/<str:panel>", report_views.property_panel, name="property-panel"),
    path("properties/<str:property_id>/export/<str:table>.csv", report_views.property_export, name="property-export"),
    path("properties/<str:property_id>/live", report_views.property_live, name="property-live"),
    path("properties/<str:property_id>/realtime", report_views.property_realtime, name="property-realtime"),
    path("properties/<str:property_id>/settings", report_views.property_settings, name="property-settings"),
    path(
        "properties/<str:property_id>/settings/snippet-key",
        report_views.property_snippet_key_create,
        name="property-snippet-key",
    ),
    path("properties/<str:property_id>/settings/keys", report_views.property_key_create, name="property-key-create"),
    path(
        "properties/<str:property_id>/settings/keys/<int:key_id>/revoke",
        report_views.property_key_revoke,
        name="property-key-revoke",
    ),
    path(
        "properties/<str:property_id>/settings/keys/<int:key_id>/rotate",
        report_views.property_key_rotate,
        name="property-key-rotate",
    ),
    path(
        "properties/<str:property_id>/settings/shared-links",
        report_views.property_shared_link_create,
        name="property-shared-link-create",
    ),
    path(
        "properties/<str:property_id>/settings/shared-links/<int:shared_link_id>/revoke",
        report_views.property_shared_link_revoke,
        name="property-shared-link-revoke",
    ),
    path("share/<str:token>", report_views.shared_dashboard, name="shared-dashboard"),
    path("share/<str:token>/breakdown/<str:panel>", report_views.shared_breakdown, name="shared-breakdown"),
    path("share/<str:token>/panels/<str:panel>", report_views.shared_panel, name="shared-panel"),
    path("share/<str:token>/export/<str:table>.csv", report_views.shared_export, name="shared-export"),
    path("share/<str:token>/live", report_views.shared_live, name="shared-live"),
    path("share/<str:token>/realtime", report_views.shared_realtime, name="shared-realtime"),
    re_path(r"^v1/", api_not_found, {"exception": None}),
]

handler404 = api_not_found
handler500 = server_error
