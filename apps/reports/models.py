from django.db import models

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

    class Meta:
        indexes = [models.Index(fields=["property", "day"], name="rollup_property_day")]

    def __str__(self):
        return f"{self.property_id} {self.day} {self.type} {self.path}"
