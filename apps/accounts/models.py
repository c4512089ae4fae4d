import secrets
from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models

from apps.core.tenancy import Role, TenantManager, TenantQuerySet

PUBLIC_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def public_id_new(prefix: str) -> str:
    return prefix + "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(16))


def organization_public_id_new() -> str:
    return public_id_new("org_")


class UserManager(DjangoUserManager):
    """Users are identified by email; there is no username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    username = None  # type: ignore[assignment]  # Django's way to drop an inherited field; the stubs type it str
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects: ClassVar[UserManager] = UserManager()

    def __str__(self):
        return self.email


class OrganizationQuerySet(TenantQuerySet["Organization"]):
    organization_path = "pk"


class Organization(models.Model):
    """The tenant: every row a user can reach hangs off one."""

    public_id = models.CharField(max_length=32, unique=True, default=organization_public_id_new, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    unscoped = models.Manager.from_queryset(OrganizationQuerySet)()
    objects = TenantManager.from_queryset(OrganizationQuerySet)()

    def __str__(self):
        return self.name


class MembershipQuerySet(TenantQuerySet["Membership"]):
    organization_path = "organization"


class Membership(models.Model):
    Role = Role

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    unscoped = models.Manager.from_queryset(MembershipQuerySet)()
    objects = TenantManager.from_queryset(MembershipQuerySet)()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class MailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class InvitationQuerySet(TenantQuerySet["Invitation"]):
    organization_path = "organization"


class Invitation(models.Model):
    """An owner's invitation for an email address to join with a role; the link carries a signed id.

    Its email is sent by a task after the invitation is stored (`mail_status`: pending until the mail
    server took it, failed once every attempt failed); an owner may send it again.
    """

    Role = Role
    MailStatus = MailStatus

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    mail_status = models.CharField(max_length=16, choices=MailStatus, default=MailStatus.PENDING)
    mail_attempts = models.PositiveSmallIntegerField(default=0)
    mail_attempted_at = models.DateTimeField(null=True, blank=True)
    mail_sent_at = models.DateTimeField(null=True, blank=True)

    unscoped = models.Manager.from_queryset(InvitationQuerySet)()
    objects = TenantManager.from_queryset(InvitationQuerySet)()

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.role})"
