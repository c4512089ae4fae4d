"""The deployment files say what docs/deploy.md promises: an image installed by the same locked,
hashed step as `make` (scripts/install-requirements, which the suite's own install runs), run as a
non-root user with a health check; a compose file with PostgreSQL, Redis with its AOF and no
eviction, the release step before web, worker and beat; the health check script answering for a
live server and failing for none."""

import subprocess
from pathlib import Path

import pytest
import yaml

from devtools.stack import BIN, Stack, wait_until
from tests.e2e.test_pipeline import database_url

ROOT = Path(__file__).resolve().parent.parent


def test_the_image_installs_as_make_does_and_runs_as_a_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "RUN scripts/install-requirements /venv base" in dockerfile
    assert "scripts/install-requirements $(VENV) dev" in makefile
    assert "\nUSER clickmeter\n" in dockerfile
    assert (
        'HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["python", "scripts/' in dockerfile
    )
    assert 'CMD ["python", "scripts/healthcheck.py"]' in dockerfile
    assert 'CMD ["gunicorn", "config.wsgi", "-c", "config/gunicorn.py"]' in dockerfile
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile["web"] == "gunicorn config.wsgi -c config/gunicorn.py"


def test_compose_runs_postgres_redis_with_its_guarantees_and_the_release_first():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "release", "web", "worker", "beat"}
    redis = services["redis"]["command"]
    assert redis[redis.index("--appendonly") + 1] == "yes"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["release"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["DEBUG"] == "false"
    assert (
        "migrate" in services["release"]["command"][-1] and "event_store_migrate" in services["release"]["command"][-1]
    )
    worker = services["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


@pytest.mark.e2e
def test_the_health_check_answers_for_a_live_server_and_fails_for_none(tmp_path, transactional_db):
    stack = Stack(tmp_path, database_url(), ALLOWED_HOSTS="analytics.example.com")
    env = {"ALLOWED_HOSTS": "analytics.example.com", "PORT": str(stack.web_port)}

    def healthy() -> bool:
        check = [str(BIN / "python"), str(ROOT / "scripts/healthcheck.py")]
        return subprocess.run(check, env=env, timeout=30).returncode == 0

    assert not healthy()  # nothing listens yet
    try:
        stack.redis.start()
        stack.web.start()
        wait_until(healthy, timeout=60, message="the health check")
    finally:
        stack.stop()
