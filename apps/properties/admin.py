from django.contrib import admin

from apps.properties.models import Property


@admin.register(Property)
class PropertyAdmin(admin.ModelAdmin):
    list_display = ["name", "public_id", "organization", "timezone", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "public_id"]
    readonly_fields = ["public_id", "created_at"]
    autocomplete_fields = ["organization"]
