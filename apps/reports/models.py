from django.contrib.auth.hashers import check_password
from django.db import models

from apps.accounts.models import User
from apps.core.tenancy import TenantManager, TenantQuerySet
from apps.properties.models import Property
from apps.reports.queries import funnels, goals


class SessionRollup(models.Model):
    """One session of one property-local day: who, where from, where it began and ended, how long.

    A session ends at midnight in the property's timezone and where a new campaign begins (as in
    Universal Analytics; stores/database/grains.visits_sql): what continues is a session of its own. Its
    attribution, place and device are those of its first event (by time, then arrival),
    `entry_path`/`exit_path` the paths of its first and last pageview ('' without pageviews).
    Reports that need no event-level dimension read only this table (selectors.MetricsQuery).
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    session_key = models.BigIntegerField()
    visitor_key = models.BigIntegerField(null=True)
    campaign_key = models.CharField(max_length=256)
    referrer_host = models.CharField(max_length=253)
    source = models.CharField(max_length=128)
    channel = models.CharField(max_length=16)
    utm_source = models.CharField(max_length=256)
    utm_medium = models.CharField(max_length=256)
    utm_campaign = models.CharField(max_length=256)
    utm_term = models.CharField(max_length=256)
    utm_content = models.CharField(max_length=256)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=16)
    city = models.CharField(max_length=128)
    browser = models.CharField(max_length=64)
    os = models.CharField(max_length=64)
    device = models.CharField(max_length=16)
    entry_path = models.CharField(max_length=1024)
    exit_path = models.CharField(max_length=1024)
    pageviews = models.PositiveIntegerField()
    events = models.PositiveIntegerField()
    first_ts = models.DateTimeField()
    last_ts = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["property", "day", "session_key"], name="session_rollup_unique")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.session_key}"


class EventRollup(models.Model):
    """The events of one property-local day counted per type, path, hostname and session: what the
    reports by page, event type or hostname read, joined to SessionRollup for session dimensions."""

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    type = models.CharField(max_length=64)
    path = models.CharField(max_length=1024)
    hostname = models.CharField(max_length=253)
    session_key = models.BigIntegerField()
    visitor_key = models.BigIntegerField(null=True)
    events = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["property", "day"], name="event_rollup_property_day"),
            # What a goal, a funnel step or a filter on one page or event type reads: a few rows of the range's.
            models.Index(fields=["property", "type", "day"], name="event_rollup_property_type_day"),
            models.Index(fields=["property", "path", "day"], name="event_rollup_property_path_day"),
        ]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.type} {self.path}"


class IdentityRollup(models.Model):
    """The visitors of one property-local day, each with the lasting identities of their events
    (retention.py: a user id hash, else a visitor id that is not cookieless), one row per pair: what
    retention reads, and the share of visitors it can follow across days.

    `person_key` is the identity's 64-bit key (ingestion.identity.text_key, the visitor key where the
    identity is the visitor id), NULL for events without one; `visitor_key` NULL for events without a
    visitor.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    visitor_key = models.BigIntegerField(null=True)
    person_key = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["property", "day"], name="identity_rollup_property_day")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.person_key}"


class PageSequenceRollup(models.Model):
    """The visits of one property-local day that hold a pageview, each with the paths of its
    pageviews in time order (those of one moment by path, as bytes): what a journey from a page
    reads (journeys.py), one row per visit instead of one per pageview.

    `session_key` is the visit's key (grains.visits_sql), `visitor_key` NULL for a visit without a
    visitor; `paths` a JSON array of texts.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    session_key = models.BigIntegerField()
    visitor_key = models.BigIntegerField(null=True)
    paths = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["property", "day"], name="page_sequence_property_day")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.session_key}"


# What the day refresh keeps per property-local day, each read for its clean days.
ROLLUPS = (SessionRollup, EventRollup, IdentityRollup, PageSequenceRollup)


class ImportedDay(models.Model):
    """One property-local day's totals for one value of one dimension, from another server's export of
    daily totals (a Plausible CSV export; imports/plausible.py): what the query engine adds to the raw
    events' answer where a query's grain is the import's (queries/imported.py).

    `dimension` is a query dimension's name (`visit:source`), blank for the day's totals; the counts
    are as the exporting server counted them, `visit_seconds` the visits' summed length. It belongs
    to the imports.Import numbered `import_id`, and goes with it.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    import_id = models.PositiveBigIntegerField(db_index=True)
    day = models.DateField()
    dimension = models.CharField(max_length=32, blank=True)
    value = models.TextField(blank=True)
    visitors = models.PositiveBigIntegerField(default=0)
    visits = models.PositiveBigIntegerField(default=0)
    pageviews = models.PositiveBigIntegerField(default=0)
    bounces = models.PositiveBigIntegerField(default=0)
    visit_seconds = models.PositiveBigIntegerField(default=0)
    events = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["property", "dimension", "day"], name="imported_day_lookup")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.dimension or 'totals'} {self.value}"


class RollupGeneration(models.Model):
    """A random token, new whenever a property's rollups are rewritten or its old data deleted.

    With the tokens of the dirty days in a range, it identifies the data a report over that range
    reads: the report cache's key (selectors.MetricsQuery.calculate).
    """

    property = models.OneToOneField(Property, on_delete=models.CASCADE, primary_key=True, related_name="+")
    token = models.BigIntegerField()

    def __str__(self):
        return f"{self.property_id} {self.token}"


class SharedLinkQuerySet(TenantQuerySet["SharedLink"]):
    organization_path = "property__organization"


class SharedLink(models.Model):
    """A read-only public link to one property's dashboard, optionally behind a password.

    Like an API key, only the token's SHA-256 hash and a visible prefix are stored: the full link
    is shown once, when it is created. The password, if any, is stored as a Django password hash.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="shared_links")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    password_hash = models.CharField(max_length=128, blank=True, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, editable=False, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    unscoped = models.Manager.from_queryset(SharedLinkQuerySet)()
    objects = TenantManager.from_queryset(SharedLinkQuerySet)()

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_password(self) -> bool:
        return bool(self.password_hash)

    def password_matches(self, password: str) -> bool:
        return self.has_password() and check_password(password, self.password_hash)


class GoalQuerySet(TenantQuerySet["Goal"]):
    organization_path = "property__organization"


class Goal(models.Model):
    """What a property's visitors are there to do: view a page (a path, or a pattern where `*` is any
    text within one path segment and `**` any text), or send an event of a type, optionally with
    custom properties of given values. Reports count the events that complete it (goals.py)."""

    PAGEVIEW, EVENT = goals.PAGEVIEW, goals.EVENT
    KINDS = [(PAGEVIEW, "Pageview"), (EVENT, "Custom event")]
    NAME_LENGTH, PATH_PATTERN_LENGTH, EVENT_TYPE_LENGTH = 120, 200, 64

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="goals")
    name = models.CharField(max_length=NAME_LENGTH)
    kind = models.CharField(max_length=16, choices=KINDS)
    path_pattern = models.CharField(max_length=PATH_PATTERN_LENGTH, blank=True)
    event_type = models.CharField(max_length=EVENT_TYPE_LENGTH, blank=True)
    # Custom properties the event must carry, {key: value}, compared as text (vocabulary.prop_text).
    properties = models.JSONField(default=dict, blank=True)
    # An event goal with a currency (ISO 4217) is a revenue goal: its events' `data.revenue` in it is summed.
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    unscoped = models.Manager.from_queryset(GoalQuerySet)()
    objects = TenantManager.from_queryset(GoalQuerySet)()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["property", "name"], name="goal_name_unique_per_property")]

    def __str__(self):
        return self.name


class FunnelQuerySet(TenantQuerySet["Funnel"]):
    organization_path = "property__organization"


class Funnel(models.Model):
    """Ordered steps a property's visitors go through (a goal, a page or an event type each), walked
    within a visit (`window_days` null) or within N days of the first step; the engine counts who
    reached each step (queries/funnels.py)."""

    NAME_LENGTH = 120
    STEP_KINDS = [(funnels.GOAL_STEP, "Goal"), (funnels.PAGE_STEP, "Page"), (funnels.EVENT_STEP, "Custom event")]

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="funnels")
    name = models.CharField(max_length=NAME_LENGTH)
    # [{"kind": "goal" | "page" | "event", "value": …}, …]: 2 to 8 steps, as funnels.funnel_parse reads them.
    steps = models.JSONField()
    window_days = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    unscoped = models.Manager.from_queryset(FunnelQuerySet)()
    objects = TenantManager.from_queryset(FunnelQuerySet)()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["property", "name"], name="funnel_name_unique_per_property")]

    def __str__(self):
        return self.name

    def definition(self) -> funnels.Funnel:
        """The funnel as the engine reads it."""
        steps = tuple(funnels.FunnelStep(step["kind"], step["value"]) for step in self.steps)
        return funnels.Funnel(steps, self.window_days)
