from django.db import models

from apps.core.tenancy import TenantManager, TenantQuerySet
from apps.properties.models import Property


class ApiKeyQuerySet(TenantQuerySet["ApiKey"]):
    organization_path = "property__organization"


class ApiKey(models.Model):
    """A write or read key. Only its SHA-256 hash and a visible prefix are stored."""

    class Kind(models.TextChoices):
        WRITE = "write", "Write (browser ingest)"
        READ = "read", "Read (server reporting)"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The key stops working at this time (set by rotation, or by hand)."
    )

    unscoped = models.Manager.from_queryset(ApiKeyQuerySet)()
    objects = TenantManager.from_queryset(ApiKeyQuerySet)()

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"{self.prefix}… ({self.get_kind_display()})"

    def is_active(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def status(self, now) -> str:
        """`revoked`, `expired` or `active`."""
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_active(now) else "expired"
