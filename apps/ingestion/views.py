"""The browser beacon: `/c.js` (a stable URL, cached a day) and `/c/<version>.js` (immutable); and
the peers' trackers where their snippets look for them."""

import gzip
import hashlib
from functools import cache

import rjsmin
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseNotModified

BEACON_SOURCE = settings.BASE_DIR / "static" / "clickmeter.js"
PEER_TRACKERS = settings.BASE_DIR / "apps" / "ingestion" / "peers" / "trackers"
# A day, then a week of serving the cached copy while revalidating: a new beacon reaches every
# visitor within a day or two, at one conditional request per visitor per day.
STABLE_CACHE = "public, max-age=86400, stale-while-revalidate=604800"
VERSIONED_CACHE = "public, max-age=31536000, immutable"


@cache
def beacon_build() -> tuple[str, bytes, bytes]:
    """The beacon minified once per process: (version, bytes, gzipped bytes)."""
    minified = rjsmin.jsmin(BEACON_SOURCE.read_text()).encode()
    return hashlib.sha256(minified).hexdigest()[:12], minified, gzip.compress(minified, 9, mtime=0)


def _beacon_response(request, cache_control: str) -> HttpResponse:
    version, plain, zipped = beacon_build()
    etag = f'"{version}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag, "Cache-Control": cache_control})
    compressed = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(zipped if compressed else plain, content_type="application/javascript; charset=utf-8")
    if compressed:
        response["Content-Encoding"] = "gzip"
    response["Vary"] = "Accept-Encoding"
    response["ETag"] = etag
    response["Cache-Control"] = cache_control
    response["X-Clickmeter-Version"] = version
    return response


def beacon_js(request):
    return _beacon_response(request, STABLE_CACHE)


def beacon_js_versioned(request, version: str):
    if version != beacon_build()[0]:
        raise Http404
    return _beacon_response(request, VERSIONED_CACHE)


@cache
def _peer_tracker(name: str) -> bytes:
    return (PEER_TRACKERS / name).read_bytes()


def peer_tracker_js(request, name: str) -> HttpResponse:
    """A peer's tracker where its snippet loads it from its server's host, unchanged from npm
    (apps/ingestion/peers/trackers/VERSIONS.md): PostHog's library at `/static/array.js`, Umami's at `/script.js`."""
    response = HttpResponse(_peer_tracker(name), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = STABLE_CACHE
    # A public file, which PostHog's snippet loads with crossorigin="anonymous": readable from any
    # page, as a CDN serves it (no credentials are ever allowed).
    response["Access-Control-Allow-Origin"] = "*"
    return response
