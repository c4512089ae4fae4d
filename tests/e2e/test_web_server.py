"""The web server (gunicorn) as HTTP clients meet it.

Every request gets an HTTP answer, and a malformed one a JSON 4xx, on connections kept alive the
way SDKs and load balancers keep them; chunked bodies are read; the web log holds no client
address and no secret. The Django test client cannot show any of this: the answers that went
missing were lost between gunicorn and the socket.
"""

import http.client
import json
import re
import select
import signal
import socket
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ingestion.models import Event
from apps.ingestion.schema import MAX_BODY_BYTES
from devtools.stack import BROWSER_USER_AGENT, Stack, wait_until
from tests.conftest import tenant_create
from tests.e2e.test_pipeline import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

NESTED = b"[" * 100_000 + b"]" * 100_000


class Connection:
    """One kept-alive HTTP/1.1 connection to the server, reused as a client library reuses one.

    It is reopened when the server said `Connection: close`, or closed it while idle (what a
    client pool checks before reusing a connection). A connection the server drops after the
    request was sent, without an answer, raises: that is what these tests look for.
    """

    def __init__(self, stack: Stack):
        self.http = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=60)

    def post(self, body: bytes, *, key: str | None, content_type="application/json", chunked=False, path=None):
        if self.http.sock is not None and select.select([self.http.sock], [], [], 0)[0]:
            self.http.close()
        headers = {"Content-Type": content_type, "User-Agent": BROWSER_USER_AGENT}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
            whole = body
            body = (whole[i : i + 65_536] for i in range(0, len(whole), 65_536))
        self.http.request("POST", path or "/v1/events", body=body, headers=headers, encode_chunked=chunked)
        response = self.http.getresponse()
        self.headers = dict(response.getheaders())
        return response.status, json.loads(response.read() or b"null")

    def close(self):
        self.http.close()


@pytest.fixture
def tenant(transactional_db):
    return tenant_create(ingest_limit_per_key=0, ingest_limit_per_address=0)


@pytest.fixture
def stack(tmp_path, transactional_db):
    stack = Stack(tmp_path, database_url(), web_args=("--workers", "2", "--access-logfile", "-"))
    yield stack
    stack.stop()


def envelope(tenant, count: int = 1, *, ids: list | None = None) -> bytes:
    events = [
        {"event_id": str(uuid.uuid4()), "type": "pageview", "context": {"page": {"url": "https://example.com/"}}}
        for _ in range(count)
    ]
    if ids is not None:
        ids.extend(event["event_id"] for event in events)
    return json.dumps({"property_id": tenant.property.public_id, "events": events}).encode()


def test_every_malformed_body_gets_a_json_4xx_on_a_kept_alive_connection(stack, tenant):
    # Answers given before the body was read (a bad key, a bad type, an oversized body) used to
    # leave it on the connection; gunicorn then closed the connection it had just said it would
    # keep, and the next request on it (the nested body here) went unanswered.
    stack.start(worker=False, beat=False)
    key = tenant.write_key
    sends = [
        (dict(body=NESTED, key=key), 400, "invalid_json"),
        (dict(body=NESTED, key="wk_" + "A" * 32), 401, "authentication_failed"),
        (dict(body=NESTED, key=key), 400, "invalid_json"),
        (dict(body=NESTED, key=key, content_type="application/xml"), 415, "unsupported_media_type"),
        (dict(body=NESTED, key=key), 400, "invalid_json"),
        (dict(body=b"[" * (2 * MAX_BODY_BYTES), key=key), 413, "payload_too_large"),
        (dict(body=NESTED, key=key), 400, "invalid_json"),
        (dict(body=b"[" * (2 * MAX_BODY_BYTES), key=key, chunked=True), 413, "payload_too_large"),
        (dict(body=NESTED, key=key, chunked=True), 400, "invalid_json"),
        (dict(body=b"[" * MAX_BODY_BYTES, key=key), 400, "invalid_json"),
        (dict(body=b" " * MAX_BODY_BYTES, key=key), 400, "empty_body"),
        (dict(body='{"property_id": "é"}'.encode("latin-1"), key=key), 400, "invalid_json"),
        (dict(body=envelope(tenant), key=key), 202, None),
    ]
    connection = Connection(stack)
    for _ in range(3):
        for send, status, code in sends:
            answer = connection.post(**send)
            assert answer[0] == status, (send, answer)
            assert code is None or answer[1]["error"]["code"] == code, answer
    connection.close()
    assert Event.objects.count() == 0, "no worker runs; the accepted events wait in the buffer"
    assert stack.redis.cli("xlen", "clickmeter:ingest") == "3"


def test_a_chunked_body_is_read_like_one_with_a_length(stack, tenant):
    stack.start(worker=False, beat=False)
    connection = Connection(stack)
    status, body = connection.post(envelope(tenant, 20), key=tenant.write_key, chunked=True)
    assert (status, body["accepted"], body["rejected"]) == (202, 20, 0)
    status, body = connection.post(b"", key=tenant.write_key, chunked=True)
    assert (status, body["error"]["code"]) == (400, "empty_body")
    connection.close()
    assert stack.redis.cli("xlen", "clickmeter:ingest") == "1"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _nested(opener: bytes, depth: int, closed: bool) -> bytes:
    closer = b"]" if opener.endswith(b"[") else b"}"
    return opener * depth + (b"1" + closer * depth if closed else b"")


def body_strategy(property_id: str):
    envelopes = st.fixed_dictionaries(
        {"events": st.lists(json_values, max_size=5)},
        optional={"property_id": st.just(property_id) | json_values, "schema_version": json_values},
    )
    texts = (envelopes | json_values).map(json.dumps)
    return st.one_of(
        st.binary(max_size=512),
        texts.map(str.encode),
        st.builds(lambda text, cut: text.encode()[:cut], texts, st.integers(0, 100)),
        st.builds(
            lambda text, codec: text.encode(codec, "replace"),
            texts,
            st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-be", "utf-32", "utf-8-sig"]),
        ),
        st.builds(
            _nested, st.sampled_from([b"[", b'{"a":', b'{"events":[']), st.integers(1_000, 300_000), st.booleans()
        ),
        st.builds(
            lambda unit, size: (unit * size)[:size],
            st.sampled_from([b" ", b"[", b"\xe9", b"\x00", b'"', b"9", b'{"a":1,']),
            st.integers(MAX_BODY_BYTES - 8, MAX_BODY_BYTES + 8),
        ),
    )


def test_fuzzed_bodies_always_get_an_http_answer_and_never_a_5xx(stack, tenant):
    stack.start(worker=False, beat=False)
    connection = Connection(stack)
    keys = {"valid": tenant.write_key, "forged": "wk_" + "B" * 32, "none": None}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(
        body=body_strategy(tenant.property.public_id),
        key=st.sampled_from(["valid", "valid", "valid", "forged", "none"]),
        content_type=st.sampled_from(["application/json", "text/plain;charset=UTF-8", "application/xml"]),
        chunked=st.booleans(),
    )
    def answered_without_5xx(body, key, content_type, chunked):
        status, answer = connection.post(body, key=keys[key], content_type=content_type, chunked=chunked)
        assert status < 500, answer
        if status == 202:
            assert {"accepted", "rejected", "errors"} <= set(answer), answer
        else:
            assert 400 <= status < 500 and answer["error"]["code"] and answer["error"]["message"], answer

    answered_without_5xx()
    connection.close()
    assert "Error handling request" not in stack.web.log_path.read_text()


def get_status(stack: Stack, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=30)
    connection.request("GET", path, headers={"User-Agent": BROWSER_USER_AGENT})
    status = connection.getresponse().status
    connection.close()
    return status


def test_the_web_log_holds_no_client_address_and_no_secret(stack, tenant):
    stack.start(worker=False, beat=False)
    shared = "sl_" + "S" * 32
    invitation = "eyJpIjo0Mn0:1tSecret:InvitationSignature"
    # Lines that quoted the client or a secret: gunicorn's "Invalid request from ip=…" (and its
    # access log), the request line of a 404 under /share/…, a key and a token in query strings.
    for raw in (b"NOT HTTP\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /x HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", stack.web_port), timeout=10) as sock:
            sock.sendall(raw)
            assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert get_status(stack, f"/share/{shared}/panels/pages?period=7d") == 404
    assert get_status(stack, f"/invitations/{invitation}") in (200, 404)
    assert get_status(stack, f"/password-reset/MQ/{invitation}") in (200, 302, 404)
    connection = Connection(stack)
    assert connection.post(NESTED, key=None, path=f"/v1/events?key={tenant.write_key}")[0] == 400
    assert connection.post(b"{}", key=None, path=f"/v1/events?token=it_{invitation}")[0] == 401
    connection.close()

    log = stack.web.log_path.read_text()
    assert "Invalid request from ip=" in log and "GET /share/[redacted]/panels/pages" in log, log
    assert "/v1/events?key=" in log, "the access log was written"
    for secret in ("127.0.0.1", shared, invitation, tenant.write_key, "S" * 16, "1tSecret"):
        assert secret not in log, f"{secret} in the web log:\n{log}"


def test_redis_killed_under_concurrent_load_every_request_is_answered_and_accepted_is_stored(stack, tenant):
    stack.start()
    answers, unanswered, accepted_ids = [], [], set()
    stop = threading.Event()

    def sender():
        connection = Connection(stack)
        while not stop.is_set():
            ids = []
            body = envelope(tenant, 5, ids=ids)
            try:
                status, answer = connection.post(body, key=tenant.write_key)
            except (OSError, http.client.HTTPException) as exc:
                unanswered.append(repr(exc))
                connection.close()
                continue
            answers.append((status, connection.headers.get("Retry-After"), answer))
            if status == 202 and answer["accepted"] == len(ids):
                accepted_ids.update(ids)
        connection.close()

    senders = [threading.Thread(target=sender) for _ in range(8)]
    for thread in senders:
        thread.start()
    try:
        wait_until(lambda: len(answers) >= 100, timeout=60, message="the load to start")
        stack.redis.process.kill(signal.SIGKILL)
        killed_at = len(answers)
        wait_until(lambda: len(answers) >= killed_at + 300, timeout=120, message="ingest to go on without Redis")
        stack.redis.start()
        back_at = len(answers)
        wait_until(lambda: len(answers) >= back_at + 100, timeout=60, message="ingest after Redis is back")
    finally:
        stop.set()
        for thread in senders:
            thread.join(timeout=60)

    assert unanswered == []
    assert {status for status, _, _ in answers} <= {202, 503}, [a for a in answers if a[0] not in (202, 503)][:5]
    assert all(retry_after and int(retry_after) > 0 for status, retry_after, _ in answers if status == 503)
    total = 5 * sum(status == 202 for status, _, _ in answers)
    assert len(accepted_ids) == total, "every 202 accepted its whole batch"
    wait_until(
        lambda: Event.objects.count() >= total, timeout=180, interval=0.5, message=f"{total} events\n{stack.logs()}"
    )
    assert set(Event.objects.values_list("event_id", flat=True)) == accepted_ids, "stored is exactly what was accepted"
    log = stack.web.log_path.read_text()
    assert "Redis unavailable (storing ingested events directly" in log, "the outage was logged"
    assert "127.0.0.1" not in log, "the Redis errors in the web log name no address"


def test_a_worker_with_every_thread_busy_leaves_new_connections_to_the_others(tmp_path, tenant):
    """Stock gthread would queue the new connection behind the stalled request half of the time."""
    stack = Stack(tmp_path, database_url(), web_args=("--workers", "2", "--threads", "1"))
    try:
        stack.start(worker=False, beat=False)
        for _ in range(6):
            stalled = socket.create_connection(("127.0.0.1", stack.web_port))
            # A request whose body never comes: its worker's only thread waits for it.
            stalled.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Authorization: Bearer " + tenant.write_key.encode() + b"\r\nContent-Length: 100\r\n\r\n{"
            )
            time.sleep(0.3)  # for that worker to take the connection and start reading the body
            probe = http.client.HTTPConnection("127.0.0.1", stack.web_port, timeout=10)
            try:
                probe.request("GET", "/healthz")
                assert probe.getresponse().status == 200
            finally:
                probe.close()
                stalled.close()
    finally:
        stack.stop()


def test_metrics_add_up_the_counters_of_every_gunicorn_worker(tmp_path, tenant):
    # Two workers of one thread each, four clients at once: both workers take requests.
    stack = Stack(
        tmp_path, database_url(), web_args=("--workers", "2", "--threads", "1"), CLICKMETER_METRICS_TOKEN="scrape-me"
    )
    stack.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            statuses = list(
                pool.map(lambda _: Connection(stack).post(envelope(tenant, 3), key=tenant.write_key)[0], range(40))
            )
        assert statuses == [202] * 40
        scrape = {"Authorization": "Bearer scrape-me"}
        request = urllib.request.Request(f"{stack.base_url}/metrics", headers=scrape)  # noqa: S310 (loopback only)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
            text = response.read().decode()
        accepted = re.search(r"^clickmeter_events_accepted_total (\S+)$", text, re.M)
        assert accepted is not None and float(accepted[1]) == 120, text[:2000]
        assert re.search(r"^clickmeter_buffer_depth \S+$", text, re.M)
    finally:
        stack.stop()
