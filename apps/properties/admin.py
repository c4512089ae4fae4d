"""Properties in admin; a new one gets its first keys (property_create_with_keys)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.core.admin import TenantAdmin
from apps.core.tenancy import Role
from apps.properties.forms import TimezoneField, domains_field, origins_field
from apps.properties.models import Property
from apps.properties.services import (
    property_create_with_keys,
    property_delete,
    property_domains_check,
    property_update,
)


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
            f"Keys of {created.name}: write key {secrets['write']}, read key {secrets['read']}"
            " — copy them now, they will not be shown again.",
        )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        return [f"{name}, with its keys, events and reports" for name in deleted], counts, perms_needed, protected

    def delete_model(self, request, obj):
        property_delete(property=obj)
