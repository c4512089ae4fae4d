"""Properties and their keys in admin.

The Property admin lives here rather than in apps/properties because creating a property also
creates its first keys, a keys service (apps depend one way: properties <- keys).
"""

from datetime import UTC, datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.admin import TenantAdmin
from apps.core.api import ApplicationError
from apps.core.tenancy import Role
from apps.keys.models import ApiKey
from apps.keys.services import (
    api_key_create,
    api_key_revoke,
    api_key_rotate,
    api_key_update,
    property_create_with_keys,
)
from apps.properties.forms import TimezoneField, domains_field, origins_field
from apps.properties.models import Property
from apps.properties.services import property_delete, property_domains_check, property_update


def utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class PropertyForm(forms.ModelForm):
    """Domains and origins one per line, the timezone from a list; the services validate the rest."""

    domains = domains_field()
    allowed_origins = origins_field(
        help_text="Sites allowed to send events, one per line, like https://example.com or https://*.example.com. "
        "Left blank when adding: https:// each domain."
    )
    timezone = TimezoneField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("domains", self.instance.domains)

    def clean_domains(self) -> list[str]:
        # Checked here too, so that a domain of another property is an error on the field.
        try:
            return property_domains_check(
                domains=self.cleaned_data["domains"], property=self.instance if self.instance.pk else None
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None


@admin.register(Property)
class PropertyAdmin(TenantAdmin):
    """Admins create and configure their organisations' properties; owners delete them (with all their data).

    A new property gets a write and a read key, whose secrets are shown once. A timezone change
    re-days the stored events (property_update).
    """

    delete_role = Role.OWNER
    form = PropertyForm
    list_display = ["name", "public_id", "organization", "timezone", "retention_days", "created_at"]
    list_filter = [("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization"]
    search_fields = ["name", "public_id"]
    ordering = ["name"]
    autocomplete_fields = ["organization"]
    settings_fields = ["retention_days", "ingest_limit_per_key", "ingest_limit_per_address"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "name", "domains", "allowed_origins", "timezone"]
        return [
            "organization",
            "public_id",
            "name",
            "domains",
            "allowed_origins",
            "timezone",
            *self.settings_fields,
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["organization", "public_id", "created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            # The form has set the new values on `obj`; the service compares with the stored ones.
            obj.refresh_from_db(fields=[field for field in changes if field != "domains"])
            property_update(property=obj, **changes)
            return
        created, secrets = property_create_with_keys(
            organization=form.cleaned_data["organization"],
            name=form.cleaned_data["name"],
            domains=form.cleaned_data["domains"],
            allowed_origins=form.cleaned_data["allowed_origins"] or None,
            timezone=form.cleaned_data["timezone"],
        )
        self.take_over(obj, created)
        messages.warning(
            request,
            f"Keys of {created.name}: write key {secrets[ApiKey.Kind.WRITE]}, read key {secrets[ApiKey.Kind.READ]}"
            " — copy them now, they will not be shown again.",
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return [f"{name}, with its keys, events and reports" for name in deleted], counts, perms_needed, protected

    def delete_model(self, request, obj):
        property_delete(property=obj)


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
