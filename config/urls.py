from django.contrib import admin
from django.urls import path, re_path

from apps.ingestion import views as ingestion_views
from apps.ingestion.apis import EventIngestApi
from apps.keys.apis import IngestTokenCreateApi
from apps.reports.apis import CampaignsApi, MetricsApi, OverviewApi, PagesApi
from config import health
from config.views import api_not_found, server_error

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
    re_path(r"^v1/", api_not_found, {"exception": None}),
]

handler404 = api_not_found
handler500 = server_error
