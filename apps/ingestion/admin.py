from django.contrib import admin

from apps.ingestion.models import DroppedEvents


@admin.register(DroppedEvents)
class DroppedEventsAdmin(admin.ModelAdmin):
    """The volume filtered out before ingestion, so an owner can see what bots and strangers sent."""

    list_display = ["day", "property", "reason", "count"]
    list_filter = ["reason", "property__organization"]
    date_hierarchy = "day"
    ordering = ["-day"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
