"""Gunicorn settings for the Procfile's web process; each can be overridden on the command line."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 (a platform's web process)
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
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
logger_class = "config.log_redaction.GunicornLogger"
