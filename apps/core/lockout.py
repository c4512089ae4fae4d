"""What django-axes counts failed logins by (the account; the address as apps.core.http.client_address
hashes it), and how a locked-out login is answered."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def client_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """Return the email a login attempt names: `username` on login forms, `email` on the token API."""
    credentials = credentials or {}
    username: str | None = credentials.get("username") or credentials.get("email")
    if username is None and request is not None and hasattr(request, "POST"):
        username = request.POST.get("username") or request.POST.get("email")
    return username.strip().lower() if isinstance(username, str) else username


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """Answer a locked-out login: the API's JSON error under /v1/, a page elsewhere; 429 both."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = f"Too many failed logins for this account from this address; try again in {minutes} minutes."
    if request.path.startswith("/v1/"):
        response: HttpResponse = JsonResponse({"error": {"code": "locked_out", "message": message}}, status=429)
    else:
        response = render(request, "accounts/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
