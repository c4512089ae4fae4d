"""The per-request CORS check for the ingest endpoint (django-cors-headers' `check_request_enabled`).

A browser may read ingest responses, and send preflighted requests, only from an origin the
property allows. The property is named by the request itself: its write key or ingest token (in
`Authorization`, `X-Write-Key`, `?key=` or `?token=`), or, for a preflight that carries no
credentials, `?property=prop_…`. Never `*`, never with credentials (settings.CORS_*).
"""

from rest_framework.exceptions import AuthenticationFailed

from apps.keys.authentication import WriteKeyAuthentication
from apps.properties.selectors import origin_allowed, property_allowed_origins


def ingest_origin_allowed(sender, request, **kwargs) -> bool:
    origin = request.headers.get("origin", "")
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
