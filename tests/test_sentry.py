"""Optional error reporting (SENTRY_DSN): with it set, a process reports to the DSN's server — here a
real HTTP server on loopback receiving the SDK's envelopes — and what it sends carries no client
address, key, token or frame variable; without it, nothing is set up."""

import gzip
import http.server
import subprocess
import sys
import threading

import brotli
import sentry_sdk
from django.conf import settings

SCRIPT = """
import django, sentry_sdk
django.setup()

def ingest(client_ip="203.0.113.7", key="wk_AAAAAAAAAAAAAAAAAAAAAAAA"):
    raise RuntimeError("refused " + key + " from " + client_ip + " on /share/sl_BBBBBBBBBBBBBBBBBBBB")

try:
    ingest()
except RuntimeError as error:
    sentry_sdk.capture_exception(error)
sentry_sdk.flush(timeout=10)
"""


class Envelopes(http.server.BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        body = gzip.decompress(body) if encoding == "gzip" else brotli.decompress(body) if encoding == "br" else body
        Envelopes.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_error_reaches_the_dsns_server_without_an_address_a_key_or_a_token(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Envelopes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "sentry-test-" + "x" * 40,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/1",
            "PATH": "/usr/bin:/bin",
        }
        run = subprocess.run(
            [sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, run.stderr[-2000:]
    finally:
        server.shutdown()
    sent = b"".join(Envelopes.received).decode(errors="replace")
    assert "RuntimeError" in sent and "refused" in sent
    for secret in ("203.0.113.7", "wk_AAAAAAAAAAAAAAAAAAAAAAAA", "sl_BBBBBBBBBBBBBBBBBBBB"):
        assert secret not in sent, secret
    assert "[address]" in sent and "[redacted]" in sent


def test_without_a_dsn_nothing_reports():
    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()
