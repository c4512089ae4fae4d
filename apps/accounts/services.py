import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from rest_framework_simplejwt.exceptions import TokenError

from apps.accounts import tasks
from apps.accounts.mail import INVITATION_SALT, invitation_is_open, invitation_token
from apps.accounts.models import PUBLIC_ID_ALPHABET, Invitation, MailStatus, Membership, Organization, User
from apps.accounts.tokens import RevocableAccessToken
from apps.core.api import ApplicationError
from apps.core.tenancy import Role

logger = logging.getLogger(__name__)


class InvalidInvitation(ApplicationError):
    status_code = 404

    def __init__(self, message: str):
        super().__init__("invitation_invalid", message)


def organization_get_or_create(*, name: str) -> Organization:
    """Return the organisation with this name's slug, creating it when missing (operators' commands)."""
    slug = slugify(name)[:100] or "org"
    organization, _ = Organization.unscoped.get_or_create(slug=slug, defaults={"name": name})
    return organization


@transaction.atomic
def organization_create(*, name: str, owner: User) -> Organization:
    """Create a new organisation (never joining an existing one of the same name) owned by `owner`."""
    name = name.strip()
    if not name:
        raise ApplicationError("invalid_parameter", "An organisation needs a name.", field="name")
    base = slugify(name)[:80] or "org"
    slug = base
    while Organization.unscoped.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6, PUBLIC_ID_ALPHABET)}"
    organization = Organization.unscoped.create(name=name[:200], slug=slug)
    Membership.unscoped.create(user=owner, organization=organization, role=Role.OWNER)
    return organization


@transaction.atomic
def organization_update(*, organization: Organization, name: str) -> Organization:
    """Rename an organisation."""
    if not name.strip():
        raise ApplicationError("invalid_parameter", "An organisation needs a name.", field="name")
    organization.name = name.strip()[:200]
    organization.save(update_fields=["name"])
    return organization


def organization_delete(*, organization: Organization) -> None:
    """Delete an organisation with its properties, keys, events and reports."""
    organization.delete()


def _user_create(*, email: str, password: str | None) -> User:
    """Create a user; a given password must pass the validators, none leaves the password unusable."""
    email = User.objects.normalize_email(email.strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError("invalid_parameter", "Enter a valid email address.", field="email") from None
    if User.objects.filter(email=email).exists():
        raise ApplicationError("email_taken", "An account with this email already exists.", field="email")
    if password is not None:
        try:
            password_validation.validate_password(password, User(email=email))
        except ValidationError as exc:
            raise ApplicationError("invalid_password", " ".join(exc.messages), field="password") from None
    try:
        return User.objects.create_user(email=email, password=password)
    except IntegrityError:
        raise ApplicationError("email_taken", "An account with this email already exists.", field="email") from None


@transaction.atomic
def user_sign_up(*, email: str, password: str, organization_name: str) -> User:
    """Create a user and the organisation they own; the password must pass the validators."""
    user = _user_create(email=email, password=password)
    organization_create(name=organization_name, owner=user)
    return user


@transaction.atomic
def membership_set(*, user: User, organization: Organization, role: str) -> Membership:
    """Give `user` exactly `role` in `organization` (operators' commands and accepted invitations)."""
    membership, _ = Membership.unscoped.update_or_create(user=user, organization=organization, defaults={"role": role})
    return membership


def _owners_remaining_after(membership: Membership) -> int:
    owners = Membership.unscoped.select_for_update().filter(organization_id=membership.organization_id, role=Role.OWNER)
    return sum(1 for owner in owners if owner.pk != membership.pk)


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; an organisation always keeps at least one owner."""
    if role not in Role.values:
        raise ApplicationError("invalid_parameter", f"role must be one of {', '.join(Role.values)}.", field="role")
    if membership.role == Role.OWNER and role != Role.OWNER and _owners_remaining_after(membership) == 0:
        raise ApplicationError(
            "last_owner", "The last owner cannot step down; make another member owner first.", status_code=409
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Remove a member (or let one leave); the last owner can neither leave nor be removed."""
    if membership.role == Role.OWNER and _owners_remaining_after(membership) == 0:
        raise ApplicationError(
            "last_owner",
            "The last owner cannot leave the organisation; make another member owner, or delete it.",
            status_code=409,
        )
    membership.delete()


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, invited_by: User, site_url: str
) -> tuple[Invitation, str]:
    """Invite `email` to join with `role`; return the invitation and its link's token.

    The link (`site_url` + the acceptance page) is mailed by a task once the invitation is stored,
    so a mail server that is down never undoes or fails the invitation: it stays `pending` while
    the task retries, then `failed`, and can be sent again. The link expires after
    CLICKMETER_INVITATION_DAYS and works once.
    """
    if role not in Role.values:
        raise ApplicationError("invalid_parameter", f"role must be one of {', '.join(Role.values)}.", field="role")
    email = User.objects.normalize_email(email.strip()).lower()
    if organization.memberships.filter(user__email=email).exists():
        raise ApplicationError("already_member", f"{email} is already a member.", field="email", status_code=409)
    invitation = Invitation.unscoped.create(
        organization=organization,
        email=email,
        role=role,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=settings.CLICKMETER_INVITATION_DAYS),
    )
    invitation_mail_queue(invitation=invitation, site_url=site_url)
    return invitation, invitation_token(invitation)


def invitation_mail_queue(*, invitation: Invitation, site_url: str) -> None:
    """Mark the invitation's email pending and hand it to a task once the transaction commits.

    A broker that cannot take the task leaves it pending (logged), never an error for the write.
    """
    Invitation.unscoped.filter(pk=invitation.pk).update(mail_status=MailStatus.PENDING)
    invitation.mail_status = MailStatus.PENDING
    transaction.on_commit(
        lambda: _task_send(tasks.invitation_mail_send, invitation_id=invitation.pk, site_url=site_url), robust=True
    )


def _task_send(task, **kwargs) -> None:
    try:
        task.delay(**kwargs)
    except (BrokerError, RedisError) as exc:
        logger.warning("could not queue %s %s: %s", task.name, kwargs, exc)


@transaction.atomic
def invitation_resend(*, invitation: Invitation, site_url: str) -> Invitation:
    """Send an open invitation's email again (its link is the same); 409 for one no longer open."""
    if not invitation_is_open(invitation):
        raise ApplicationError(
            "invitation_closed", "This invitation was accepted, withdrawn or has expired.", status_code=409
        )
    invitation_mail_queue(invitation=invitation, site_url=site_url)
    return invitation


def invitation_resolve(token: str) -> Invitation:
    """Return the pending invitation a link's token names, or raise InvalidInvitation."""
    try:
        invitation_id = int(signing.loads(token, salt=INVITATION_SALT)["i"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidInvitation("This invitation link is not valid.") from None
    invitation = Invitation.unscoped.select_related("organization").filter(pk=invitation_id).first()
    if invitation is None or invitation.revoked_at is not None:
        raise InvalidInvitation("This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise InvalidInvitation("This invitation has already been used.")
    if invitation.expires_at <= timezone.now():
        raise InvalidInvitation("This invitation has expired; ask for a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Join the organisation an invitation names, once, as the invited email address only."""
    invitation = invitation_resolve(token)
    invitation = Invitation.unscoped.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvalidInvitation("This invitation has already been used.")
    if user.email.lower() != invitation.email:
        raise ApplicationError(
            "invitation_other_email",
            f"This invitation is for {invitation.email}; sign in with that address to accept it.",
            status_code=403,
        )
    existing = Membership.unscoped.filter(user=user, organization=invitation.organization).first()
    membership = existing or Membership.unscoped.create(
        user=user, organization=invitation.organization, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def invitation_revoke(*, invitation: Invitation) -> None:
    """Withdraw a pending invitation; its link stops working at once."""
    Invitation.unscoped.filter(pk=invitation.pk, revoked_at__isnull=True, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def user_sign_up_invited(*, token: str, password: str) -> User:
    """Create the account an invitation names (no organisation of its own) and accept the invitation.

    Both happen or neither: a link that stops being valid meanwhile leaves no account behind.
    """
    invitation = invitation_resolve(token)
    user = _user_create(email=invitation.email, password=password)
    invitation_accept(token=token, user=user)
    return user


@dataclass(frozen=True)
class MemberCreated:
    membership: Membership
    user_created: bool
    previous_role: str | None


@transaction.atomic
def member_create(*, organization_name: str, email: str, role: str, password: str | None = None) -> MemberCreated:
    """Give `email` `role` in the organisation named `organization_name`, creating either when missing.

    For operators' commands. A new user without `password` gets an unusable one and chooses it
    through password reset; an existing user's password is never changed. An existing member's
    role changes through `membership_role_change`, so the last owner cannot be demoted.
    """
    if role not in Role.values:
        raise ApplicationError("invalid_parameter", f"role must be one of {', '.join(Role.values)}.", field="role")
    if not organization_name.strip():
        raise ApplicationError("invalid_parameter", "An organisation needs a name.", field="name")
    organization = organization_get_or_create(name=organization_name.strip())
    user = User.objects.filter(email=User.objects.normalize_email(email.strip()).lower()).first()
    user_created = user is None
    if user is None:
        user = _user_create(email=email, password=password)
    existing = Membership.unscoped.filter(user=user, organization=organization).first()
    previous_role = existing.role if existing else None
    if existing is None:
        membership = membership_set(user=user, organization=organization, role=role)
    else:
        membership = membership_role_change(membership=existing, role=role)
    return MemberCreated(membership=membership, user_created=user_created, previous_role=previous_role)


def password_reset_mail_queue(*, user: User, domain: str, protocol: str) -> None:
    """Hand a password reset email for `user` to a task; a broker that cannot take it is logged, so
    the reset form answers the same whether or not mail works."""
    _task_send(tasks.password_reset_mail_send, user_id=user.pk, domain=domain, protocol=protocol)


def access_token_revoke(*, raw: str) -> None:
    """Put a member's access token on the token blacklist (apps/accounts/tokens.py): it stops working
    at once. A token that is not a valid access token any more is left alone: it opens nothing."""
    try:
        RevocableAccessToken(raw).blacklist()  # type: ignore[arg-type]  # a token's text, which it decodes
    except TokenError:
        return
