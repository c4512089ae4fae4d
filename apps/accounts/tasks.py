from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts import mail
from apps.accounts.models import MailStatus

# Attempts at each email before it is given up (an invitation's is then `failed`, and can be resent).
MAIL_ATTEMPTS = 5


def _mail_retry_countdown(retries: int) -> int:
    """Seconds before the next attempt: 30, 60, 120, 240. A retry waits on a worker unacknowledged, so
    this stays under the broker's visibility timeout (300 s), past which Redis would hand the same
    retry to a second worker and the email would go out twice."""
    return 30 * 2**retries


@shared_task(bind=True, max_retries=MAIL_ATTEMPTS - 1)
def invitation_mail_send(self, invitation_id: int, site_url: str) -> str:
    """Mail an invitation, retrying with backoff. In-process (the embedded default) it tries once:
    a retry there would hold up the request that created the invitation."""
    last_attempt = self.request.is_eager or self.request.retries >= self.max_retries
    status = mail.invitation_mail_send(invitation_id=invitation_id, site_url=site_url, last_attempt=last_attempt)
    if status == MailStatus.PENDING and not last_attempt:
        raise self.retry(countdown=_mail_retry_countdown(self.request.retries))
    return status


@shared_task(bind=True, max_retries=MAIL_ATTEMPTS - 1)
def password_reset_mail_send(self, user_id: int, domain: str, protocol: str) -> bool:
    """Mail a password reset link, retrying with backoff (in-process: once)."""
    sent = mail.password_reset_mail_send(user_id=user_id, domain=domain, protocol=protocol)
    if not sent and not self.request.is_eager and self.request.retries < self.max_retries:
        raise self.retry(countdown=_mail_retry_countdown(self.request.retries))
    return sent


@shared_task
def expired_refresh_tokens_purge() -> int:
    """Delete refresh tokens (and their blacklist entries) that have expired anyway; return how many."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
