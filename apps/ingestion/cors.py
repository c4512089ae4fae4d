"""The per-request CORS check for the ingest endpoint (django-cors-headers' `check_request_enabled`).

A browser may read ingest responses, and send preflighted requests, only from an origin the
property allows. The property is named by the request itself: its write key or ingest token (in
`Authorization`, `X-Write-Key`, `?key=` or `?token=`), or, for a preflight that carries no
credentials, `?property=prop_…`. A peer tracker's request names its property in the body (a
domain, an id, a token), which a preflight does not carry: its origin must be one that some property
allows, and the request itself is then checked against its own property's origins. Never `*`,
never with credentials (settings.CORS_*).
"""

import re

from django.conf import settings
from rest_framework.exceptions import AuthenticationFailed

from apps.keys.authentication import WriteKeyAuthentication
from apps.properties.selectors import origin_allowed, origin_allowed_anywhere, property_allowed_origins

BEACON_PATH = "/v1/events"


def ingest_origin_allowed(sender, request, **kwargs) -> bool:
    # django-cors-headers asks this for every request, whatever its path.
    if not re.match(settings.CORS_URLS_REGEX, request.path_info):
        return False
    origin = request.headers.get("origin", "")
    if request.path_info != BEACON_PATH:
        return bool(origin) and origin_allowed_anywhere(origin)
    allowed = _allowed_origins(request)
    if not allowed:
        return False
    return origin_allowed(allowed_origins=allowed, origin=origin)


def _allowed_origins(request) -> tuple[str, ...] | None:
    try:
        authenticated = WriteKeyAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    if authenticated is not None:
        return authenticated[1].allowed_origins
    public_id = request.GET.get("property")
    return property_allowed_origins(public_id=public_id) if public_id else None
