import secrets

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import Http404

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
    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self):
        return self.email


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}


def roles_at_least(role: str) -> list[str]:
    return [other for other, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]


class TenantQuerySet(models.QuerySet):
    """Rows that belong to an organisation: the one door through which requests reach them.

    `organization_path` is the lookup from the model to its Organization. Request-facing code
    calls `for_user` (lists) or `access` (one object); the plain manager is for internal work
    (tasks, services) that has already been authorised.
    """

    organization_path: str

    def for_user(self, user, *, role: str = Role.VIEWER) -> "TenantQuerySet":
        """Rows of the organisations where `user` holds at least `role`; all rows for a superuser."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        organizations = Membership.objects.filter(user=user, role__in=roles_at_least(role)).values("organization_id")
        return self.filter(**{f"{self.organization_path}__in": organizations})

    def access(self, user, *, role: str = Role.VIEWER, **lookup) -> models.Model:
        """Return the one row matching `lookup` that `user` may see, checked for `role`.

        A row of another organisation is a 404 exactly like a missing one; a row the user can see
        but not act on with their role is a PermissionDenied (403).
        """
        found = (
            self.for_user(user)
            .filter(**lookup)
            .annotate(
                tenant_role=Subquery(
                    Membership.objects.filter(user_id=user.pk, organization_id=OuterRef(self.organization_path)).values(
                        "role"
                    )[:1]
                )
            )
            .first()
        )
        if found is None:
            raise Http404
        if not user.is_superuser and ROLE_RANK[found.tenant_role] < ROLE_RANK[role]:
            raise PermissionDenied(f"This needs the {role} role in the organisation.")
        return found

    def by_id(self, row_id: int | str) -> models.Model:
        """The row with this numeric id among rows the caller has already been let through to; 404
        for a missing or malformed id."""
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        found = self.filter(pk=row_id).first() if str(row_id).isascii() and str(row_id).isdigit() else None
        if found is None:
            raise Http404
        return found


def tenant_manager(organization_path: str) -> models.Manager:
    """A manager whose querysets are scoped through `organization_path` (see TenantQuerySet)."""
    queryset_class = type("TenantQuerySet", (TenantQuerySet,), {"organization_path": organization_path})
    return models.Manager.from_queryset(queryset_class)()


class Organization(models.Model):
    """The tenant: every row a user can reach hangs off one."""

    public_id = models.CharField(max_length=32, unique=True, default=organization_public_id_new, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager("pk")

    def __str__(self):
        return self.name


class Membership(models.Model):
    Role = Role

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = tenant_manager("organization")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="unique_membership")]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class MailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


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
    mail_status = models.CharField(max_length=16, choices=MailStatus.choices, default=MailStatus.PENDING)
    mail_attempts = models.PositiveSmallIntegerField(default=0)
    mail_attempted_at = models.DateTimeField(null=True, blank=True)
    mail_sent_at = models.DateTimeField(null=True, blank=True)

    objects = tenant_manager("organization")

    def __str__(self):
        return f"{self.email} to {self.organization} ({self.role})"
