"""Gunicorn settings for the Procfile's web process; each can be overridden on the command line."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104 (a platform's web process)
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", 4))
keepalive = 5
max_requests = 20000
max_requests_jitter = 2000
accesslog = None
