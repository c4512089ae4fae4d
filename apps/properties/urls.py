from django.urls import path

from apps.properties import views
from apps.properties.apis import PropertiesApi, PropertyApi

urlpatterns = [
    path("v1/properties", PropertiesApi.as_view(), name="properties"),
    path("v1/properties/<str:property_id>", PropertyApi.as_view(), name="property-detail"),
    path("organizations/<str:organization_id>/properties/new", views.property_new, name="property-new"),
    path("properties/<str:property_id>/waiting", views.property_waiting, name="property-waiting"),
    path("properties/<str:property_id>/first-event", views.property_first_event, name="property-first-event"),
    path("properties/<str:property_id>/settings", views.property_settings, name="property-settings"),
]
