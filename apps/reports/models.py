from django.contrib.auth.hashers import check_password
from django.db import models

from apps.accounts.models import User, tenant_manager
from apps.properties.models import Property


class DailyRollup(models.Model):
    """Raw events of one property-local day, counted per combination of every report dimension,
    visitor and session.

    The grain keeps visitor and session so that distinct counts over any range and any grouping
    stay exact; it has the same column names as the raw Event table, so the one query layer reads
    either (selectors.MetricsQuery). Most dimensions are constant within a session, which is what
    makes this smaller than the raw table.
    """

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    type = models.CharField(max_length=64)
    path = models.CharField(max_length=1024)
    campaign_key = models.CharField(max_length=256)
    hostname = models.CharField(max_length=253)
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
    visitor_id = models.CharField(max_length=128)
    session_id = models.CharField(max_length=128)
    events = models.PositiveIntegerField()
    # The earliest and latest event time within the row: session durations, entry and exit pages.
    first_ts = models.DateTimeField()
    last_ts = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["property", "day"], name="rollup_property_day")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.type} {self.path}"


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

    objects = tenant_manager("property__organization")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_password(self) -> bool:
        return bool(self.password_hash)

    def password_matches(self, password: str) -> bool:
        return self.has_password() and check_password(password, self.password_hash)
