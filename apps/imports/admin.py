from django.contrib import admin
from django.db import transaction

from apps.core.admin import CreateOnlyTenantAdmin, TenantAdmin
from apps.imports import tasks
from apps.imports.models import Import
from apps.imports.services import import_create, import_delete


@admin.register(Import)
class ImportAdmin(CreateOnlyTenantAdmin):
    """An upload of history, loaded in the background; its row says how it went. Deleting an import
    deletes every event it brought (docs/switching.md)."""

    list_display = ["property", "source", "status", "events", "first_day", "last_day", "created_at", "finished_at"]
    list_filter = [("property", admin.RelatedOnlyFieldListFilter), "source", "status"]
    list_select_related = ["property"]
    search_fields = ["property__name", "property__public_id", "file"]
    ordering = ["-created_at"]
    autocomplete_fields = ["property"]
    add_fields = ["property", "source", "file"]
    detail_fields = [*add_fields, "status", "error", "events", "first_day", "last_day", "created_by", "finished_at"]

    def has_delete_permission(self, request, obj=None):
        return TenantAdmin.has_delete_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        created = import_create(
            property=form.cleaned_data["property"],
            source=form.cleaned_data["source"],
            file=form.cleaned_data["file"],
            created_by=request.user,
        )
        self.take_over(obj, created)
        transaction.on_commit(lambda: tasks.import_run.delay(created.pk))

    def delete_model(self, request, obj):
        import_delete(import_=obj)

    def delete_queryset(self, request, queryset):
        for found in queryset:
            import_delete(import_=found)
