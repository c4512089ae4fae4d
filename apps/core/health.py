"""Probes for load balancers: `/healthz` (the process answers) and `/readyz` (it can do its job).

The kernel checks the database; an app that depends on another service adds its check with
`readiness_check_register` from its AppConfig.ready() (the ingestion app: the broker).
"""

from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

# A check returns {"status": "ok" | "fail", ...details}.
ReadinessCheck = Callable[[], dict[str, Any]]

_checks: dict[str, ReadinessCheck] = {}


def readiness_check_register(name: str, check: ReadinessCheck) -> None:
    _checks[name] = check


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Report the database and every registered service; 503 if any fails."""
    services = {"database": _database_status()}
    services.update((name, check()) for name, check in _checks.items())
    ready = all(service["status"] == "ok" for service in services.values())
    return JsonResponse({"status": "ok" if ready else "fail", "services": services}, status=200 if ready else 503)


def _database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return {"status": "fail", "error": str(exc).strip()[:200]}
    return {"status": "ok", "vendor": connection.vendor}
