from django.contrib import admin

from apps.properties.models import Property
from apps.properties.services import property_timezone_set


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "organization", "timezone", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at"]
    autocomplete_fields = ["organization"]

    def save_model(self, request, obj, form, change):
        if change and "timezone" in form.changed_data:
            new_timezone, obj.timezone = obj.timezone, form.initial["timezone"]
            super().save_model(request, obj, form, change)
            property_timezone_set(property=obj, timezone_name=new_timezone)
        else:
            super().save_model(request, obj, form, change)
