"""A property's keys in admin."""

from datetime import UTC, datetime

from django.contrib import admin, messages
from django.utils import timezone

from apps.core.admin import TenantAdmin
from apps.core.api import ApplicationError
from apps.keys.models import ApiKey
from apps.keys.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_update,
)


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    """Admins create, rotate and revoke their properties' keys; a key is revoked, never deleted.

    A secret is shown once, in a message kept in the server-side session, and never again: only
    its prefix is visible. A rotated key keeps working for CLICKMETER_KEY_ROTATION_GRACE_HOURS.
    """

    list_display = ["prefix", "kind", "name", "property", "status", "created_at", "last_used_at", "expires_at"]
    list_filter = ["kind", ("property", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["property"]
    search_fields = ["prefix", "name", "property__name", "property__public_id"]
    ordering = ["-created_at", "-pk"]
    autocomplete_fields = ["property"]
    actions = ["rotate_selected", "revoke_selected"]
    detail_fields = [
        "property",
        "kind",
        "prefix",
        "name",
        "status",
        "created_at",
        "last_used_at",
        "revoked_at",
        "expires_at",
    ]

    @admin.display(description="status")
    def status(self, api_key):
        status = api_key.status(timezone.now())
        if status == "active" and api_key.expires_at is not None:
            return f"expires at {utc(api_key.expires_at)}"
        return status

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["property", "kind", "name", "expires_at"]
        return self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [field for field in self.detail_fields if field not in ("name", "expires_at")]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            api_key_update(api_key=obj, **{field: form.cleaned_data[field] for field in form.changed_data})
            return
        api_key, secret = api_key_create(
            property=form.cleaned_data["property"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data["name"],
            expires_at=form.cleaned_data["expires_at"],
        )
        self.take_over(obj, api_key)
        messages.warning(request, f"New {api_key.kind} key: {secret} — copy it now, it will not be shown again.")

    @admin.action(description="Rotate selected keys (the old ones keep working for a grace period)")
    def rotate_selected(self, request, queryset):
        for api_key in queryset.select_related("property"):
            try:
                new_key, secret = api_key_rotate(api_key=api_key)
            except ApplicationError as refusal:
                messages.error(request, f"{api_key.prefix}…: {refusal.message}")
                continue
            messages.warning(
                request,
                f"New {new_key.kind} key of {api_key.property.name}: {secret} — copy it now, it will not be shown"
                f" again. The old key {api_key.prefix}… works until {utc(api_key.expires_at)}.",
            )

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request, queryset):
        keys = [api_key for api_key in queryset if api_key.revoked_at is None]
        for api_key in keys:
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked {len(keys)} key(s); they stop working within a second.")
