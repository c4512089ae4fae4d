"""Settings for the test suite: the project's settings with test defaults for the environment."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clickmeter")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# The suite does not read a developer's .env (`make run` writes one).
os.environ.setdefault("CLICKMETER_ENV_FILE", "")
os.environ.setdefault("CLICKMETER_TASKS_EAGER", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# In-process drains return as soon as the buffer is empty instead of waiting for more.
os.environ.setdefault("CLICKMETER_INGEST_DRAIN_IDLE_WAIT_MS", "0")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Pages render without a collectstatic first; tests/test_static_files.py checks production's storage.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
