"""Mail never turns a committed write into an error: invitations and password resets with a mail
server that refuses connections (Django's real SMTP backend pointed at a closed loopback port).

An invitation is stored and answered 201 whatever the mail server does; its email is a task that
records each attempt (`mail_status` pending, sent or failed; `mail_attempts`), retries with backoff
on a worker, tries once in-process, and can be sent again by the owner (API and admin). A password
reset answers the same whether or not the mail goes out.
"""

import json
import re
import socket

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.test import Client

from apps.accounts.models import Invitation, MailStatus
from apps.accounts.tasks import MAIL_ATTEMPTS, invitation_mail_send, password_reset_mail_send
from config.celery import app
from devtools.stack import BROWSER_USER_AGENT
from tests.conftest import jwt_for, session_client_for

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def mail_server_down(settings):
    """Django's SMTP backend pointed at a loopback port nothing listens on: every send is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    return settings


def invite(tenant, email="ana@example.net", via=None):
    client = via or Client(
        headers={"authorization": f"Bearer {jwt_for(tenant.owner)}", "user-agent": BROWSER_USER_AGENT}
    )
    return client.post(
        f"/v1/organizations/{tenant.organization.public_id}/members",
        json.dumps({"email": email, "role": "viewer"}),
        content_type="application/json",
    )


def listed(tenant) -> list[dict]:
    client = Client(headers={"authorization": f"Bearer {jwt_for(tenant.viewer)}"})
    return client.get(f"/v1/organizations/{tenant.organization.public_id}/invitations").json()


def test_an_invitation_is_stored_and_answered_201_while_the_mail_server_is_down(
    tenant_a, mail_server_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(tenant_a)
    assert response.status_code == 201, response.content
    assert response.json()["mail_status"] == MailStatus.PENDING  # queued when the answer was made
    invitation = Invitation.unscoped.get(email="ana@example.net")
    assert (invitation.mail_status, invitation.mail_attempts, invitation.mail_sent_at) == (MailStatus.FAILED, 1, None)
    assert invitation.mail_attempted_at is not None
    [entry] = listed(tenant_a)
    assert (entry["id"], entry["mail_status"], entry["mail_attempts"]) == (invitation.pk, "failed", 1)


def test_the_owner_sends_a_failed_invitation_again_once_mail_works(
    tenant_a, mail_server_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite(tenant_a)
    invitation = Invitation.unscoped.get()
    mail_server_down.EMAIL_BACKEND = LOCMEM
    owner = Client(headers={"authorization": f"Bearer {jwt_for(tenant_a.owner)}"})
    resend = f"/v1/organizations/{tenant_a.organization.public_id}/invitations/{invitation.pk}/resend"

    refused = Client(headers={"authorization": f"Bearer {jwt_for(tenant_a.admin)}"}).post(resend)
    assert refused.status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(resend)
    assert response.status_code == 202 and response.json()["id"] == invitation.pk
    [sent] = mail.outbox
    assert sent.to == ["ana@example.net"] and re.search(r"http://testserver/invitations/\S+", sent.body)
    [entry] = listed(tenant_a)
    assert (entry["mail_status"], entry["mail_attempts"]) == ("sent", 2) and entry["mail_sent_at"]


def test_an_invitation_no_longer_open_is_not_sent_again(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(tenant_a)
    invitation = Invitation.unscoped.get()
    Invitation.unscoped.filter(pk=invitation.pk).update(expires_at="2001-01-01T00:00:00Z")
    owner = Client(headers={"authorization": f"Bearer {jwt_for(tenant_a.owner)}"})
    response = owner.post(f"/v1/organizations/{tenant_a.organization.public_id}/invitations/{invitation.pk}/resend")
    assert response.status_code == 409 and response.json()["error"]["code"] == "invitation_closed"
    assert len(mail.outbox) == 1


@pytest.fixture
def on_a_worker():
    """Tasks run as a worker runs them: a retry is published to the real broker (the test Redis)."""
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def as_worker(task, retries: int, **kwargs):
    task.push_request(retries=retries, is_eager=False, called_directly=False, id=f"attempt-{retries}", kwargs=kwargs)


def test_on_a_worker_a_failed_attempt_is_retried_with_backoff_then_given_up(
    tenant_a, mail_server_down, on_a_worker, settings
):
    invitation = Invitation.unscoped.create(
        organization=tenant_a.organization, email="ana@example.net", role="viewer", expires_at="2999-01-01T00:00:00Z"
    )
    countdowns = []
    for retries in range(MAIL_ATTEMPTS):
        as_worker(invitation_mail_send, retries, invitation_id=invitation.pk, site_url="http://testserver/")
        try:
            if retries < MAIL_ATTEMPTS - 1:
                with pytest.raises(Retry) as retry:
                    invitation_mail_send.run(invitation_id=invitation.pk, site_url="http://testserver/")
                countdowns.append(retry.value.when)
                invitation.refresh_from_db()
                assert (invitation.mail_status, invitation.mail_attempts) == (MailStatus.PENDING, retries + 1)
            else:
                status = invitation_mail_send.run(invitation_id=invitation.pk, site_url="http://testserver/")
                assert status == MailStatus.FAILED
        finally:
            invitation_mail_send.pop_request()
    assert countdowns == [30, 60, 120, 240]
    assert max(countdowns) < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    invitation.refresh_from_db()
    assert (invitation.mail_status, invitation.mail_attempts) == (MailStatus.FAILED, MAIL_ATTEMPTS)


def test_a_task_delivered_twice_sends_the_invitation_once(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(tenant_a)
    invitation = Invitation.unscoped.get()
    assert invitation_mail_send.delay(invitation_id=invitation.pk, site_url="http://testserver/").get() == "sent"
    assert len(mail.outbox) == 1
    invitation.refresh_from_db()
    assert invitation.mail_attempts == 1


def test_the_admin_invites_while_mail_is_down_shows_the_status_and_resends(
    tenant_a, mail_server_down, django_capture_on_commit_callbacks
):
    browser = session_client_for(tenant_a.owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/admin/accounts/invitation/add/",
            {"organization": tenant_a.organization.pk, "email": "ana@example.net", "role": "viewer"},
        )
    assert response.status_code == 302
    invitation = Invitation.unscoped.get()
    assert "Failed (1 attempt)" in browser.get("/admin/accounts/invitation/").content.decode()
    mail_server_down.EMAIL_BACKEND = LOCMEM
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/admin/accounts/invitation/", {"action": "resend_selected", "_selected_action": [invitation.pk]})
    assert len(mail.outbox) == 1
    assert "Sent (2 attempts)" in browser.get("/admin/accounts/invitation/").content.decode()


def test_a_password_reset_answers_the_same_whether_or_not_mail_works(client, tenant_a, mail_server_down):
    down = client.post("/password-reset", {"email": tenant_a.viewer.email})
    unknown = client.post("/password-reset", {"email": "nobody@example.com"})
    mail_server_down.EMAIL_BACKEND = LOCMEM
    up = client.post("/password-reset", {"email": tenant_a.viewer.email})
    assert (down.status_code, down["Location"]) == (up.status_code, up["Location"]) == (302, "/password-reset/sent")
    assert (unknown.status_code, unknown["Location"]) == (302, "/password-reset/sent")
    [sent] = mail.outbox
    assert sent.to == [tenant_a.viewer.email] and "/password-reset/" in sent.body


def test_a_password_reset_mail_is_retried_on_a_worker(tenant_a, mail_server_down, on_a_worker):
    as_worker(password_reset_mail_send, 0, user_id=tenant_a.viewer.pk, domain="testserver", protocol="http")
    try:
        with pytest.raises(Retry):
            password_reset_mail_send.run(user_id=tenant_a.viewer.pk, domain="testserver", protocol="http")
    finally:
        password_reset_mail_send.pop_request()
