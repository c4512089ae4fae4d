"""The embedded default `make run` serves: SQLite, tasks in-process, demo data, no Redis."""

import http.cookiejar
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.stack import BIN, BROWSER_USER_AGENT, ROOT, Process, free_port, wait_until

pytestmark = pytest.mark.e2e


def test_demo_keys_work_for_ingest_and_reports_on_sqlite_without_redis(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKMETER_", "REDIS_", "DATABASE_"))}
    env.update(DEBUG="true", CLICKMETER_VAR_DIR=str(tmp_path))
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
