"""Each request gets an id, answers it, logs once with it (apps/core/logs.py); the e2e pipeline test
follows it into the worker."""

import logging
import uuid

import pytest

pytestmark = pytest.mark.django_db


def finished(caplog) -> list[dict]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "request_finished"]


def test_each_request_has_an_id_of_its_own_answered_and_logged_once_with_status_and_time(client, caplog):
    caplog.set_level(logging.INFO)
    first, second = client.get("/healthz"), client.get("/v1/nothing?key=wk_AbCdEfGhIjKlMnOpQrStUvWxYz012345")
    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert len(set(ids)) == 2 and all(uuid.UUID(i) for i in ids)
    lines = finished(caplog)
    assert [(line["request_id"], line["code"]) for line in lines] == [(ids[0], 200), (ids[1], 404)]
    assert [r.levelname for r in caplog.records if r.msg in lines] == ["INFO", "WARNING"]
    assert lines[0]["request"] == "GET /healthz" and lines[0]["duration_ms"] >= 0


@pytest.mark.parametrize(
    ("trusted", "sent", "kept"),
    [(True, "req-7f3a:12", True), (True, "two words", False), (True, "x" * 129, False), (False, "req-7f3a", False)],
)
def test_a_proxys_request_id_is_kept_only_when_trusted_and_a_token(client, settings, trusted, sent, kept):
    settings.TRUST_UPSTREAM_REQUEST_ID = trusted
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert (answered == sent) is kept
    if not kept:
        uuid.UUID(answered)
