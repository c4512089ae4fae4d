from django.contrib import admin, messages
from django.utils import timezone

from apps.keys.models import ApiKey
from apps.keys.services import api_key_assign_secret, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "kind", "name", "property", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind", "property__organization"]
    search_fields = ["prefix", "name", "property__name", "property__public_id"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["property"]
    actions = ["revoke_selected"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*self.readonly_fields, "property", "kind"]
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        secret = api_key_assign_secret(api_key=obj)
        messages.warning(request, f"New {obj.kind} key: {secret} — copy it now, it will not be shown again.")

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked at {timezone.now():%Y-%m-%d %H:%M:%S} UTC.")
