"""The embedded default `make run` serves: SQLite, tasks and periodic jobs in-process, demo data,
no Redis."""

import http.cookiejar
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devtools.stack import BIN, BROWSER_USER_AGENT, ROOT, Process, free_port, wait_until
from tests.conftest import budget_window_wait

pytestmark = pytest.mark.e2e


def embedded_env(var_dir, **extra) -> dict:
    """The environment of a new user's shell: nothing of ours set, no `.env` but the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKMETER_", "REDIS_", "DATABASE_"))}
    env.pop("DEBUG", None)
    env.pop("SECRET_KEY", None)
    env.update(CLICKMETER_VAR_DIR=str(var_dir), CLICKMETER_ENV_FILE=str(var_dir / ".env"), **extra)
    return env


def test_demo_keys_work_for_ingest_and_reports_on_sqlite_without_redis(tmp_path):
    env = embedded_env(tmp_path, DEBUG="true")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    printed = subprocess.run([*manage, "demo_setup"], cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
    keys = json.loads((tmp_path / "demo.json").read_text())
    assert keys["write_key"].encode() in printed.stdout, "make run prints the demo keys"
    assert (tmp_path / "clickmeter.sqlite3").exists()
    port = free_port()
    web = Process(
        "web", [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"], env, tmp_path
    )
    web.start()
    try:

        def call(method, path, key, body=None):
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}",
                data=json.dumps(body).encode() if body else None,
                method=method,
                headers={
                    "Authorization": f"Bearer {key}",
                    "Content-Type": "application/json",
                    "User-Agent": BROWSER_USER_AGENT,
                },
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read())

        def up():
            try:
                return call("GET", "/healthz", "")[0] == 200
            except OSError:
                return False

        wait_until(up, timeout=30, message=f"gunicorn on SQLite\n{web.log()}")
        events = [
            {"event_id": str(uuid.uuid4()), "type": "pageview", "context": {"page": {"path": "/x"}}} for _ in range(3)
        ]
        events.append({"event_id": str(uuid.uuid4()), "type": "signup", "data": {"trial": True, "seats": 3}})
        status, body = call(
            "POST", "/v1/events", keys["write_key"], {"property_id": keys["property_id"], "events": events}
        )
        assert (status, body["accepted"]) == (202, 4)
        status, body = call("GET", f"/v1/properties/{keys['property_id']}/pages", keys["read_key"])
        assert status == 200
        # No identity sent: the three pageviews share the cookieless daily visitor hash.
        assert {"path": "/x", "pageviews": 3, "unique_visitors": 1} in body["results"]
        month_ago = (datetime.now(UTC) - timedelta(days=31)).date()
        status, body = call("GET", f"/v1/properties/{keys['property_id']}/overview?from={month_ago}", keys["read_key"])
        assert body["pageviews"] > 1000, "the demo data is there"

        # The SQL written per database (time buckets, sessions, entry pages) runs on SQLite too.
        property_path = f"/v1/properties/{keys['property_id']}"
        today = datetime.now(UTC).date()
        for query in (
            "interval=hour&metrics=pageviews,bounce_rate,visit_duration,views_per_session",
            f"interval=week&from={month_ago}",
            f"interval=month&from={month_ago}",
            f"group_by=entry_page&metrics=sessions&from={month_ago}",
        ):
            status, body = call("GET", f"{property_path}/metrics?to={today}&{query}", keys["read_key"])
            assert status == 200 and body["results"], query

        # The dashboard's pages, signed in as the demo admin.
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        browser.addheaders = [("User-Agent", BROWSER_USER_AGENT)]
        base = f"http://127.0.0.1:{port}"
        browser.open(f"{base}/login", timeout=30).read()
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        form = urllib.parse.urlencode(
            {"username": keys["admin_email"], "password": keys["admin_password"], "csrfmiddlewaretoken": csrf}
        ).encode()
        signed_in = urllib.request.Request(f"{base}/login", data=form, headers={"Referer": f"{base}/login"})  # noqa: S310
        browser.open(signed_in, timeout=30)
        dashboard = f"{base}/properties/{keys['property_id']}"
        pages = {
            "/?range=today": b'id="card-bounce_rate"',
            "/?range=7d&metric=bounce_rate": b'id="chart-data"',
            "/?range=12mo": b'id="card-visit_duration"',
            "/realtime": b'id="realtime-report"',
        }
        for page, marker in pages.items():
            with browser.open(dashboard + page, timeout=30) as response:
                assert response.status == 200 and marker in response.read(), page
        with browser.open(dashboard + "/export/event-data.csv?range=today&event=signup", timeout=30) as response:
            exported = response.read().decode()
        assert "signup,trial,true,1,1" in exported and "signup,seats,3,1,1" in exported, "JSON reads as on PostgreSQL"
    finally:
        web.stop()


def call_http(method: str, url: str, body=None, headers=None) -> tuple[int, dict, dict]:
    request = urllib.request.Request(  # noqa: S310 (always http://127.0.0.1)
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"User-Agent": BROWSER_USER_AGENT, "Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """`make run` as a new user starts it (scripts/run.py), with the periodic jobs due every second.

    One client address per request (X-Forwarded-For, trusted as if from one proxy), so that the
    tests can speak for several visitors.
    """
    var_dir = tmp_path_factory.mktemp("make-run")
    port = free_port()
    schedule = "daily-salts-destroy=1,retention-enforce=1,rollup-refresh-dirty-days=1,expired-refresh-tokens-purge=1"
    env = embedded_env(var_dir, PORT=str(port), CLICKMETER_SCHEDULE=schedule, CLICKMETER_TRUSTED_PROXIES="1")
    run = Process("make-run", [sys.executable, "scripts/run.py"], env, var_dir).start()
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return call_http("GET", f"{base}/healthz")[0] == 200
        except OSError:
            return False

    try:
        wait_until(up, timeout=120, message=f"make run\n{run.log()}")
        yield {
            "base": base,
            "var_dir": var_dir,
            "env": env,
            "process": run,
            **json.loads((var_dir / "demo.json").read_text()),
        }
    finally:
        run.stop()


def database_rows(var_dir, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(var_dir / "clickmeter.sqlite3", timeout=30) as db:
        return db.execute(sql, params).fetchall()


def test_make_run_writes_a_secret_key_that_the_readmes_commands_use(make_run):
    env_file = (make_run["var_dir"] / ".env").read_text()
    assert "SECRET_KEY=" in env_file and "DEBUG" not in env_file
    # As the README shows it: no DEBUG, no SECRET_KEY in the shell, the same database as the server.
    result = subprocess.run(
        [sys.executable, "manage.py", "create_property", "--org", "Acme", "--name", "Acme shop", "--json"],
        cwd=ROOT, env=make_run["env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    status, _, _ = call_http(
        "GET",
        f"{make_run['base']}/v1/properties/{created['property_id']}/overview",
        headers={"Authorization": f"Bearer {created['read_key']}"},
    )
    assert status == 200, "the server sees the property the command created"


def test_make_run_destroys_finished_days_salts_and_expired_events(make_run):
    """The privacy jobs of beat's schedule run without Redis: salts of yesterday and before, and
    events older than the property's retention (400 days by default), are deleted."""
    now = datetime.now(UTC)
    expired_id = str(uuid.uuid4())
    expired = {"event_id": expired_id, "type": "pageview", "ts": (now - timedelta(days=500)).isoformat()}
    status, _, body = call_http(
        "POST",
        f"{make_run['base']}/v1/events",
        {"property_id": make_run["property_id"], "events": [expired]},
        {"Authorization": f"Bearer {make_run['write_key']}", "X-Forwarded-For": "198.51.100.1"},
    )
    assert (status, body["accepted"]) == (202, 1), "stored: tasks run in-process"
    # Salts as a server that also ran on earlier days leaves them.
    finished_days = [(now - timedelta(days=n)).date().isoformat() for n in (1, 3)]
    with sqlite3.connect(make_run["var_dir"] / "clickmeter.sqlite3", timeout=30) as db:
        db.executemany(
            "INSERT INTO ingestion_dailysalt (day, salt) VALUES (?, ?)", [(d, os.urandom(32)) for d in finished_days]
        )

    def jobs_done():
        salts = {day for (day,) in database_rows(make_run["var_dir"], "SELECT day FROM ingestion_dailysalt")}
        events = database_rows(make_run["var_dir"], "SELECT 1 FROM ingestion_event WHERE event_id = ?", (expired_id,))
        return not salts & set(finished_days) and not events

    wait_until(jobs_done, timeout=60, interval=0.5, message=f"the periodic jobs\n{make_run['process'].log()}")
    salts = [day for (day,) in database_rows(make_run["var_dir"], "SELECT day FROM ingestion_dailysalt")]
    assert all(day >= now.date().isoformat() for day in salts), "only the current day's salt is left"


def test_make_run_enforces_ingest_rate_limits_without_redis(make_run):
    base, headers = make_run["base"], {"Authorization": f"Bearer {make_run['write_key']}"}
    status, _, token = call_http(
        "POST", f"{base}/v1/auth/token", {"email": make_run["admin_email"], "password": make_run["admin_password"]}
    )
    assert status == 200
    member = {"Authorization": f"Bearer {token['access']}"}
    status, _, prop = call_http("GET", f"{base}/v1/properties/{make_run['property_id']}", headers=member)
    assert status == 200
    status, _, _ = call_http(
        "PATCH", f"{base}/v1/properties/{make_run['property_id']}", {"ingest_limit_per_address": 2}, member
    )
    assert status == 200
    time.sleep(1.5)  # the key lookup cache (with its limits) lives one second
    budget_window_wait()

    def ingest(address):
        event = {"event_id": str(uuid.uuid4()), "type": "pageview", "context": {"page": {"path": "/limited"}}}
        envelope = {"property_id": make_run["property_id"], "events": [event]}
        return call_http("POST", f"{base}/v1/events", envelope, {**headers, "X-Forwarded-For": address})

    answers = [ingest("203.0.113.77") for _ in range(3)]
    assert [status for status, _, _ in answers] == [202, 202, 429]
    status, refused_headers, refused = answers[-1]
    assert refused["error"]["code"] == "rate_limited"
    assert 1 <= int(refused_headers["Retry-After"]) <= 60
    assert ingest("203.0.113.78")[0] == 202, "another address has its own count"
    call_http(
        "PATCH",
        f"{base}/v1/properties/{make_run['property_id']}",
        {"ingest_limit_per_address": prop["ingest_limit_per_address"]},
        member,
    )
    # Counted under a salted hash: the address is nowhere in the database.
    for name in ("clickmeter.sqlite3", "clickmeter.sqlite3-wal"):
        path = make_run["var_dir"] / name
        assert not path.exists() or b"203.0.113.77" not in path.read_bytes(), name
