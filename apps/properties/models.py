import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models

from apps.accounts.models import Organization, public_id_new
from apps.core.tenancy import TenantManager, TenantQuerySet


def property_public_id_new() -> str:
    return public_id_new("prop_")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA timezone name.")


class PropertyQuerySet(TenantQuerySet["Property"]):
    organization_path = "organization"
    property_path = "pk"


class Property(models.Model):
    """A tracked site or app. Reports count days in its timezone."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="properties")
    public_id = models.CharField(max_length=32, unique=True, default=property_public_id_new, editable=False)
    name = models.CharField(max_length=200)
    allowed_origins = models.JSONField(
        default=list, blank=True, help_text="Browser origins allowed to send events, e.g. https://example.com"
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    retention_days = models.PositiveIntegerField(default=400)
    ingest_limit_per_key = models.PositiveIntegerField(
        default=12_000, help_text="Ingest requests per minute per write key or token (0: no limit)."
    )
    ingest_limit_per_address = models.PositiveIntegerField(
        default=600, help_text="Ingest requests per minute per client address (0: no limit)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    unscoped = models.Manager.from_queryset(PropertyQuerySet)()
    objects = TenantManager.from_queryset(PropertyQuerySet)()

    class Meta:
        verbose_name_plural = "properties"

    def __str__(self):
        return f"{self.name} ({self.public_id})"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def domains(self) -> list[str]:
        """The site's hostnames, the primary first (prefetch `domain_rows` to read many properties')."""
        return [row.hostname for row in self.domain_rows.all()]


class PropertyDomainQuerySet(TenantQuerySet["PropertyDomain"]):
    organization_path = "property__organization"


class PropertyDomain(models.Model):
    """A hostname of a property's site. A hostname belongs to one property on the whole server, so
    a tracker that names only its site's domain (Plausible's) reaches exactly one property."""

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="domain_rows")
    hostname = models.CharField(max_length=253, unique=True)
    position = models.PositiveSmallIntegerField(help_text="0 for the primary domain.")

    unscoped = models.Manager.from_queryset(PropertyDomainQuerySet)()
    objects = TenantManager.from_queryset(PropertyDomainQuerySet)()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["property", "position"], name="property_domain_position")]

    def __str__(self):
        return self.hostname
