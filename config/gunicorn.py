"""Gunicorn settings for the Procfile's web process; each can be overridden on the command line."""

import os
import tempfile

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 (a platform's web process)
# One worker per core and one more: each runs several threads, so the sync workers' rule (two per
# core and one) only adds processes contending for the cores (bench/ingest: 3 workers against 5 on
# two cores, 5-15 % less CPU per request; docs/benchmarks.md).
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
# gthread that takes a new connection only while it has a thread free (config/gunicorn_worker.py).
worker_class = "config.gunicorn_worker.BalancedThreadWorker"
threads = int(os.environ.get("WEB_THREADS", 4))
# An idle kept-alive connection is closed after this many seconds; a client that reuses it at that
# moment loses its request without an answer. Behind a proxy or load balancer that keeps
# connections to gunicorn open, set it above the proxy's idle timeout (README, Production).
keepalive = int(os.environ.get("WEB_KEEPALIVE", 5))
# Import Django once in the master so that a (re)started worker forks ready; recycle workers rarely
# (a leak guard only): a restart costs a core for a moment and shows in the ingest p99.
preload_app = True
max_requests = 1_000_000
max_requests_jitter = 100_000
accesslog = None
# Error and access logs without client addresses or secrets, however they are configured.
logger_class = "config.logs.GunicornLogger"

# Prometheus counters from every worker (apps/core/metrics.py): each writes them to this directory,
# fresh for each start, and /metrics adds them up. Set before the app is imported (preload_app).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="clickmeter-metrics-"))


def child_exit(server, worker):
    """A worker gone: its gauges of live processes are dropped (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
