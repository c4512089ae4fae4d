from django.urls import path, re_path

from apps.ingestion import peer_apis, views
from apps.ingestion.apis import EventIngestApi

PROJECT_PATH = r"(?P<token>[A-Za-z0-9_-]{1,128})"

urlpatterns = [
    path("v1/events", EventIngestApi.as_view(), name="events-ingest"),
    path("c.js", views.beacon_js, name="beacon"),
    path("c/<str:version>.js", views.beacon_js_versioned, name="beacon-versioned"),
    # Other servers' trackers, unchanged (settings.CORS_URLS_REGEX names these paths too).
    path("api/event", peer_apis.PlausibleEventApi.as_view(), name="plausible-event"),
    path("api/send", peer_apis.UmamiSendApi.as_view(), name="umami-send"),
    path("api/batch", peer_apis.UmamiBatchApi.as_view(), name="umami-batch"),
    re_path(r"^(?:e|i/v0/e|batch|capture)/?$", peer_apis.PostHogCaptureApi.as_view(), name="posthog-capture"),
    re_path(r"^(?:flags|decide)/?$", peer_apis.PostHogFlagsApi.as_view(), name="posthog-flags"),
    re_path(rf"^array/{PROJECT_PATH}/config$", peer_apis.PostHogConfigApi.as_view(), name="posthog-config"),
    re_path(rf"^array/{PROJECT_PATH}/config\.js$", peer_apis.posthog_config_js, name="posthog-config-js"),
    path("static/array.js", views.peer_tracker_js, {"name": "posthog-array.js"}, name="posthog-library"),
    path("script.js", views.peer_tracker_js, {"name": "umami-script.js"}, name="umami-script"),
]
