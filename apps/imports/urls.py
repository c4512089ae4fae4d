from django.urls import path

from apps.imports.apis import EventsExportApi, EventsQueryApi

urlpatterns = [
    path("v1/properties/<str:property_id>/events/export", EventsExportApi.as_view(), name="events-export"),
    path("v1/properties/<str:property_id>/events/query", EventsQueryApi.as_view(), name="events-query"),
]
