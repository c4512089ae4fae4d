"""Probes for load balancers: `/healthz` (the process answers) and `/readyz` (it can do its job)."""

from django.db import DatabaseError, connection
from django.http import JsonResponse
from redis.exceptions import RedisError

from apps.ingestion import buffer


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    """Report the database and the broker, with its persistence and queue depth; 503 if any fails."""
    services = {"database": _database_status()}
    if buffer.buffer_enabled():
        services["broker"] = _broker_status()
    else:
        services["broker"] = {"status": "ok", "mode": "in-process tasks (no REDIS_URL)"}
    ready = all(service["status"] == "ok" for service in services.values())
    return JsonResponse({"status": "ok" if ready else "fail", "services": services}, status=200 if ready else 503)


def _database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return {"status": "fail", "error": str(exc).strip()[:200]}
    return {"status": "ok", "vendor": connection.vendor}


def _broker_status() -> dict:
    client = buffer.redis_client()
    try:
        persistence = client.info("persistence")
        memory = client.info("memory")
        depth = {"ingest_buffer": buffer.buffer_depth(), "celery": client.llen("celery")}
        oldest_entry_seconds = buffer.oldest_entry_age_seconds()
    except RedisError as exc:
        return {"status": "fail", "error": str(exc)[:200]}
    problems = []
    if not persistence.get("aof_enabled"):
        problems.append("appendonly is off: an accepted batch could be lost on restart")
    if memory.get("maxmemory_policy") != "noeviction":
        problems.append(f"maxmemory-policy is {memory.get('maxmemory_policy')}, not noeviction")
    status = {
        "status": "fail" if problems else "ok",
        "appendonly": bool(persistence.get("aof_enabled")),
        "maxmemory_policy": memory.get("maxmemory_policy"),
        "queue_depth": depth,
        # How long the oldest accepted batch not yet stored has waited: a drain that stalled shows here.
        "oldest_unstored_seconds": oldest_entry_seconds,
    }
    if problems:
        status["error"] = "; ".join(problems)
    return status
