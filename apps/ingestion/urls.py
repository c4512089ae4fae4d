from django.urls import path

from apps.ingestion import views
from apps.ingestion.apis import EventIngestApi

urlpatterns = [
    path("v1/events", EventIngestApi.as_view(), name="events-ingest"),
    path("c.js", views.beacon_js, name="beacon"),
    path("c/<str:version>.js", views.beacon_js_versioned, name="beacon-versioned"),
]
