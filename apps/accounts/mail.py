"""Mail to people: invitations and password resets, each tried once per call and recorded.

The tasks in apps.accounts.tasks call these (with retries); apps.accounts.services queues the tasks.
"""

import logging
import smtplib

from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.mail import send_mail
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import Invitation, MailStatus, User

logger = logging.getLogger(__name__)

INVITATION_SALT = "clickmeter.invitation"

INVITATION_SALT = "clickmeter.invitation"


# What a mail server that is down, unreachable or refusing raises through Django's SMTP backend.
MAIL_ERRORS = (OSError, smtplib.SMTPException)


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk}, salt=INVITATION_SALT)


def invitation_is_open(invitation: Invitation) -> bool:
    """Whether the invitation's link still works: not accepted, withdrawn or expired."""
    return invitation.accepted_at is None and invitation.revoked_at is None and invitation.expires_at > timezone.now()


def invitation_mail_send(*, invitation_id: int, site_url: str, last_attempt: bool) -> str:
    """Try once to mail an open invitation its link; record the attempt and return the mail status.

    A failure leaves the status `pending` for another attempt, or `failed` on the `last_attempt`.
    An invitation already mailed, or no longer open, is left alone (a task delivered twice sends once).
    """
    invitation = Invitation.unscoped.select_related("organization", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.mail_status == MailStatus.SENT or not invitation_is_open(invitation):
        return invitation.mail_status if invitation else MailStatus.FAILED
    organization, inviter = invitation.organization, invitation.invited_by
    link = site_url.rstrip("/") + reverse("invitation-accept", args=[invitation_token(invitation)])
    attempted_at = timezone.now()
    try:
        send_mail(
            subject=f"You are invited to {organization.name} on Clickmeter",
            message=(
                f"{inviter.email if inviter else 'A member'} invites you to join {organization.name} on "
                f"Clickmeter as {invitation.role}.\n\n"
                f"Accept by {invitation.expires_at:%Y-%m-%d}: {link}\n\n"
                "The link works once. If you did not expect this, ignore this email."
            ),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except MAIL_ERRORS as exc:
        status = MailStatus.FAILED if last_attempt else MailStatus.PENDING
        attempt = invitation.mail_attempts + 1
        logger.warning("invitation %s: mail not sent (attempt %s): %s", invitation.pk, attempt, exc)
        sent_at = None
    else:
        status, sent_at = MailStatus.SENT, attempted_at
    Invitation.unscoped.filter(pk=invitation.pk).update(
        mail_status=status, mail_attempts=F("mail_attempts") + 1, mail_attempted_at=attempted_at, mail_sent_at=sent_at
    )
    return status


def password_reset_mail_send(*, user_id: int, domain: str, protocol: str) -> bool:
    """Try once to mail an active user a password reset link (made now, so none waits in the queue);
    return whether the mail server took it."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return True
    context = {
        "email": user.email,
        "domain": domain,
        "site_name": domain,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "user": user,
        "token": default_token_generator.make_token(user),
        "protocol": protocol,
    }
    subject = "".join(render_to_string("registration/password_reset_subject.txt", context).splitlines())
    try:
        send_mail(subject, render_to_string("registration/password_reset_email.html", context), None, [user.email])
    except MAIL_ERRORS as exc:
        logger.warning("password reset for user %s: mail not sent: %s", user.pk, exc)
        return False
    return True
