"""The engine equals the oracle on every store: test_engine_equals_oracle.py run again, each in a
pytest of its own, on the embedded default (SQLite) and on ClickHouse: a server process of Debian's
package (release 18.16), a cluster of two of them (every query through the Distributed table), and
the current engine embedded by chdb; the suite's own run is PostgreSQL's. Beside it runs
tests/imports/test_plausible_equals_raw.py: imported daily totals answer what the raw events they
were counted from answer. ClickHouse answers every query from raw events, by SQL of its own: fewer
examples there (and on SQLite) keep the run short, each still drawing queries of every shape."""

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings

# Examples per drawn test (queries, funnels, retention, journeys, sessions, imports) beside PostgreSQL's 100.
SQLITE_EXAMPLES, CLICKHOUSE_EXAMPLES = "50", "25"


def oracle_test_run(env: dict) -> subprocess.CompletedProcess:
    """test_engine_equals_oracle.py run in a pytest of its own with `env`."""
    return subprocess.run(
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
            "tests/imports/test_plausible_equals_raw.py",
        ],
        cwd=settings.BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def output(run: subprocess.CompletedProcess) -> str:
    return run.stdout[-4000:] + run.stderr[-2000:]


def test_the_engine_answers_what_the_oracle_answers_on_sqlite(tmp_path):
    run = oracle_test_run(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'engine.sqlite3'}",
            "TEST_EXPECTED_STORES": "sqlite,database",
            "TEST_ORACLE_EXAMPLES": SQLITE_EXAMPLES,
            "TEST_IMPORTED_EXAMPLES": SQLITE_EXAMPLES,
        }
    )
    assert run.returncode == 0, output(run)
    assert "8 passed" in run.stdout, output(run)


@pytest.mark.parametrize("engine", ["server", "cluster", "chdb"])
def test_the_engine_answers_what_the_oracle_answers_on_clickhouse(engine, request, tmp_path):
    database = f"oracle_{uuid.uuid4().hex[:12]}"
    cluster = {}
    if engine == "server":
        url = request.getfixturevalue("clickhouse_server").url(database)
    elif engine == "cluster":
        url = request.getfixturevalue("clickhouse_shards")[0].url(database)
        cluster = {"CLICKHOUSE_CLUSTER": "clickmeter"}
    else:
        url = f"chdb://{tmp_path}/{database}"
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clickmeter")
    run = oracle_test_run(
        {
            "CLICKMETER_EVENT_STORE": "clickhouse",
            "CLICKHOUSE_URL": url,
            **cluster,
            "TEST_EXPECTED_STORES": "postgresql,clickhouse",
            "TEST_ORACLE_EXAMPLES": CLICKHOUSE_EXAMPLES,
            "TEST_IMPORTED_EXAMPLES": CLICKHOUSE_EXAMPLES,
            # A database of its own beside the suite's (pytest-django adds test_).
            "DATABASE_URL": database_url.rsplit("/", 1)[0] + f"/{database}",
        }
    )
    assert run.returncode == 0, output(run)
    assert "8 passed" in run.stdout, output(run)
