"""Refuse NUL characters at the door, before any of a request's values can reach the database.

PostgreSQL text cannot hold U+0000: a NUL byte that reaches a query as a value (a report filter,
a search box, an id in the path, a session cookie) makes the database refuse the statement, and
the request a 500. Forms and the API's serializers refuse NUL in the fields they parse, but query
strings, paths and cookies reach selectors, the admin and the dashboard directly; this middleware
is the one place that refuses them, for every route and both middleware stacks (config/wsgi.py).
"""

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

NUL = "\x00"
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_parameter(request: HttpRequest) -> tuple[str, str] | None:
    """The first (kind, name) of a request value holding a NUL: a query, form or cookie parameter."""
    query = request.META.get("QUERY_STRING", "")
    if "%00" in query or NUL in query:
        name = next((name for name, values in request.GET.lists() if NUL in name + "".join(values)), None)
        if name is not None:
            return "query", name
    raw_cookies = request.headers.get("cookie", "")
    # A quoted cookie value may spell NUL as an octal escape, which the cookie parser decodes.
    if NUL in raw_cookies or "\\000" in raw_cookies:
        name = next((name for name, value in request.COOKIES.items() if NUL in name + value), None)
        if name is not None:
            return "cookie", name
    if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
        name = next((name for name, values in request.POST.lists() if NUL in name + "".join(values)), None)
        if name is not None:
            return "form", name
    return None


class NulCharacterMiddleware:
    """Answer a request with a NUL character in its path 404 (no object has such an id) and one with a
    NUL in a query, form or cookie parameter 400: JSON under /v1/, a page elsewhere."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info:
            raise Http404("No such page.")
        found = _nul_parameter(request)
        if found is None:
            return self.get_response(request)
        kind, name = found
        shown = name.replace(NUL, "\\0")
        message = f"The {kind} parameter {shown!r} contains a NUL character (U+0000), which no value may contain."
        if request.path_info.startswith("/v1/"):
            error = {"code": "invalid_parameter", "message": message, "field": name}
            return JsonResponse({"error": error}, status=400)
        return render(request, "bad_request.html", {"message": message}, status=400)
