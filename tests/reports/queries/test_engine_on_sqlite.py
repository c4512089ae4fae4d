"""The engine equals the oracle on the embedded default too: test_engine_equals_oracle.py run again,
in a pytest of its own whose database is SQLite (the suite's is PostgreSQL)."""

import os
import subprocess
import sys

from django.conf import settings


def test_the_engine_answers_what_the_oracle_answers_on_sqlite(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'engine.sqlite3'}", "TEST_EXPECTED_STORE": "sqlite"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--no-cov",
            "--create-db",
            "-q",
            "tests/reports/queries/test_engine_equals_oracle.py",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout, run.stdout[-4000:]
