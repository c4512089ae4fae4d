from django.urls import path

from apps.keys import views
from apps.keys.apis import ApiKeyApi, ApiKeyRotateApi, ApiKeysApi, IngestTokenCreateApi

urlpatterns = [
    path("v1/properties/<str:property_id>/ingest-tokens", IngestTokenCreateApi.as_view(), name="ingest-tokens"),
    path("v1/properties/<str:property_id>/keys", ApiKeysApi.as_view(), name="property-keys"),
    path("v1/properties/<str:property_id>/keys/<int:key_id>", ApiKeyApi.as_view(), name="property-key-detail"),
    path(
        "v1/properties/<str:property_id>/keys/<int:key_id>/rotate",
        ApiKeyRotateApi.as_view(),
        name="property-key-rotation",
    ),
    path(
        "properties/<str:property_id>/settings/snippet-key",
        views.property_snippet_key_create,
        name="property-snippet-key",
    ),
    path("properties/<str:property_id>/settings/keys", views.property_key_create, name="property-key-create"),
    path(
        "properties/<str:property_id>/settings/keys/<int:key_id>/revoke",
        views.property_key_revoke,
        name="property-key-revoke",
    ),
    path(
        "properties/<str:property_id>/settings/keys/<int:key_id>/rotate",
        views.property_key_rotate,
        name="property-key-rotate",
    ),
]
