from django.db import models

from apps.core.tenancy import TenantManager, TenantQuerySet
from apps.properties.models import Property


class Event(models.Model):
    """One raw event, append-only. Absent text values are stored as ''.

    `day` is the event's date in the property's timezone, `campaign_key` is `campaign_id`, else
    `utm_campaign`, and `visitor_key`/`session_key` stand for the ids (identity.py): all are fixed
    at insert so that reports and rollups group the same way, as are the attribution
    (attribution.py) and the request's place and user agent (enrichment.py).
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    event_id = models.CharField(max_length=64)
    type = models.CharField(max_length=64)
    ts = models.DateTimeField()
    received_at = models.DateTimeField()
    # The order events were received in, for events of the same time: the request's arrival in
    # microseconds, times ARRIVAL_SLOTS, plus the event's position in its batch (identity.arrival).
    arrival = models.BigIntegerField()
    day = models.DateField()
    url = models.CharField(max_length=2048, blank=True)
    path = models.CharField(max_length=1024, blank=True)
    title = models.CharField(max_length=512, blank=True)
    referrer = models.CharField(max_length=2048, blank=True)
    visitor_id = models.CharField(max_length=128, blank=True)
    session_id = models.CharField(max_length=128, blank=True)
    user_id_hash = models.CharField(max_length=128, blank=True)
    # Integer stand-ins for visitor_id and the session, for counting (identity.py).
    visitor_key = models.BigIntegerField(null=True)
    session_key = models.BigIntegerField()
    # The key of the event's visit where it is not session_key (a campaign began a new visit
    # mid-session: reports/stores/database/grains.visits_sql), as the last rollup refresh of its day computed
    # it; None where it is session_key. True while the day is not dirty.
    visit_key = models.BigIntegerField(null=True)
    campaign_id = models.CharField(max_length=128, blank=True)
    utm_source = models.CharField(max_length=256, blank=True)
    utm_medium = models.CharField(max_length=256, blank=True)
    utm_campaign = models.CharField(max_length=256, blank=True)
    utm_term = models.CharField(max_length=256, blank=True)
    utm_content = models.CharField(max_length=256, blank=True)
    campaign_key = models.CharField(max_length=256, blank=True)
    data = models.JSONField(default=dict, blank=True)
    hostname = models.CharField(max_length=253, blank=True)
    referrer_host = models.CharField(max_length=253, blank=True)
    source = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=128, blank=True)
    browser = models.CharField(max_length=64, blank=True)
    browser_version = models.CharField(max_length=16, blank=True)
    os = models.CharField(max_length=64, blank=True)
    os_version = models.CharField(max_length=16, blank=True)
    device = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["property", "event_id"], name="event_unique_per_property")]
        indexes = [
            models.Index(fields=["property", "day"], name="event_property_day"),
            models.Index(fields=["property", "ts"], name="event_property_ts"),
            # A custom event's days (an event goal with conditions on its data, the event data
            # tables): a few rows among the range's pageviews (docs/benchmarks.md).
            models.Index(fields=["property", "type", "day"], name="event_property_type_day"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class DirtyDay(models.Model):
    """A (property, day) whose raw events changed since its rollup was last computed.

    Every insert sets a new random `token` and `marked_at`; `first_marked_at` keeps the first mark
    since the last refresh. A refresh clears the row only if the token is still the one it read, so
    events stored during a refresh keep the day dirty.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    token = models.BigIntegerField()
    marked_at = models.DateTimeField()
    first_marked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["property", "day"], name="dirty_day_unique")]

    def __str__(self):
        return f"{self.property_id} {self.day}"


class DailySalt(models.Model):
    """The random secret of one UTC day's cookieless visitor hashes; destroyed once the day is over."""

    day = models.DateField(unique=True)
    salt = models.BinaryField()

    def __str__(self):
        return str(self.day)


class DroppedEventsQuerySet(TenantQuerySet["DroppedEvents"]):
    organization_path = "property__organization"
    property_path = "property"


class DroppedEvents(models.Model):
    """How many events of a property-local day were dropped, and why; they never reach reports."""

    class Reason(models.TextChoices):
        BOT = "bot", "Bot or crawler"
        ORIGIN = "origin", "Origin not allowed"
        ERASED = "erased", "Of a person erased (SubjectRequest) after it was received"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    count = models.BigIntegerField(default=0)

    unscoped = models.Manager.from_queryset(DroppedEventsQuerySet)()
    objects = TenantManager.from_queryset(DroppedEventsQuerySet)()

    class Meta:
        verbose_name_plural = "dropped events"
        constraints = [models.UniqueConstraint(fields=["property", "day", "reason"], name="dropped_events_unique")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.reason}: {self.count}"


class SubjectRequestQuerySet(TenantQuerySet["SubjectRequest"]):
    organization_path = "property__organization"
    property_path = "property"


class SubjectRequest(models.Model):
    """A person's request about what a property holds on them (apps/privacy): to be erased, or to
    see it (a subject access request). It is the audit record — who asked, when, how many events —
    and it names the person only by a keyed hash (`subject_hash`), so that it keeps nothing of them.

    An erasure also stands guard: an event of theirs received before it but still in the buffer is
    dropped when it is drained (storage.events_store), never stored after the erasure.
    """

    class Kind(models.TextChoices):
        ERASURE = "erasure", "Erasure"
        ACCESS = "access", "Access"

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject_hash = models.CharField(max_length=64, editable=False)
    requested_by = models.CharField(max_length=255, help_text="Who asked: a member's email, or the command.")
    requested_at = models.DateTimeField(auto_now_add=True)
    events = models.PositiveBigIntegerField(default=0, help_text="Events deleted, or handed over.")

    unscoped = models.Manager.from_queryset(SubjectRequestQuerySet)()
    objects = TenantManager.from_queryset(SubjectRequestQuerySet)()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["kind", "requested_at"], name="subject_request_kind_time")]

    def __str__(self):
        return f"{self.get_kind_display()} in {self.property_id} at {self.requested_at:%Y-%m-%d %H:%M}"
