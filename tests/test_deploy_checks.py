"""Production settings pass Django's deployment checklist with no warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_is_clean_with_production_settings():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEBUG", "SECURE_", "SESSION_", "CSRF_", "DJANGO_SETTINGS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY="production-like-" + "k" * 50,
        ALLOWED_HOSTS="analytics.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    env["CLICKMETER_ENV_FILE"] = ""  # a developer's .env (make run writes one) must not supply a key
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "Set the SECRET_KEY environment variable, or put it in .env" in result.stderr


def test_settings_read_the_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=from-the-file-" + "k" * 40 + "\nLOG_LEVEL=ERROR\nALLOWED_HOSTS=file.example\n")
    env = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(CLICKMETER_ENV_FILE=str(env_file), ALLOWED_HOSTS="env.example")
    show = (
        "from django.conf import settings as s; print(s.SECRET_KEY[:14], s.LOGGING['root']['level'], s.ALLOWED_HOSTS)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-the-file-", "ERROR", "['env.example']"]
