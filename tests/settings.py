"""Settings for the test suite: the project's settings with test defaults for the environment."""

import os
from urllib.parse import urlsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clickmeter")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# The suite does not read a developer's .env (`make run` writes one).
os.environ.setdefault("CLICKMETER_ENV_FILE", "")
os.environ.setdefault("CLICKMETER_TASKS_EAGER", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# In-process drains return as soon as the buffer is empty instead of waiting for more.
os.environ.setdefault("CLICKMETER_INGEST_DRAIN_IDLE_WAIT_MS", "0")
# Each pytest-xdist worker (gw0, gw1, …) its own Redis database, counted from REDIS_URL's: a test
# empties its database before it starts.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    redis_url = urlsplit(os.environ["REDIS_URL"])
    redis_db = int(redis_url.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    os.environ["REDIS_URL"] = redis_url._replace(path=f"/{redis_db}").geturl()

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages render without a collectstatic first; tests/test_static_files.py checks production's storage.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
