from django.conf import settings
from django.db import models

from apps.core.tenancy import TenantManager, TenantQuerySet
from apps.properties.models import Property


class ImportQuerySet(TenantQuerySet["Import"]):
    organization_path = "property__organization"


class Import(models.Model):
    """A file of another server's (or this one's) history, loaded into a property's raw events, or,
    for an export of daily totals (Plausible's), into its imported totals (reports.models.ImportedDay).

    Its events carry ids that begin with `event_id_prefix`, its totals its id, by which it is
    deleted as a whole; an import that fails leaves none behind.
    """

    class Source(models.TextChoices):
        CLICKMETER = "clickmeter", "Clickmeter raw events (NDJSON or CSV)"
        UMAMI = "umami", "Umami website events (CSV, or a zip with session.csv)"
        PLAUSIBLE = "plausible", "Plausible CSV export (its zip, or one of its CSV files): daily totals"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="imports")
    source = models.CharField(max_length=16, choices=Source.choices)
    file = models.FileField(upload_to="imports/", help_text="The exported file, as its server wrote it.")
    name = models.CharField(max_length=255, editable=False, help_text="The file's name as uploaded.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why it failed, naming the file and line.")
    events = models.PositiveBigIntegerField(
        default=0, help_text="Events imported (of daily totals: the pageviews and custom events they count)."
    )
    first_day = models.DateField(null=True, blank=True)
    last_day = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    unscoped = models.Manager.from_queryset(ImportQuerySet)()
    objects = TenantManager.from_queryset(ImportQuerySet)()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_source_display()} into {self.property} ({self.get_status_display().lower()})"

    def event_id_prefix(self) -> str:
        return f"i{self.pk}."
