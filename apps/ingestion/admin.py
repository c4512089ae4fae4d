from django.contrib import admin

from apps.core.admin import TenantAdmin
from apps.ingestion.models import DroppedEvents


@admin.register(DroppedEvents)
class DroppedEventsAdmin(TenantAdmin):
    """The volume filtered out before ingestion, so an owner can see what bots and strangers sent (read-only)."""

    list_display = ["day", "property", "reason", "count"]
    list_filter = ["reason", ("property", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["property"]
    date_hierarchy = "day"
    ordering = ["-day"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
