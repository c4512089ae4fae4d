from django import forms
from django.contrib import admin

from apps.core.admin import CreateOnlyTenantAdmin
from apps.ingestion.identity import SUBJECT_FIELDS
from apps.ingestion.models import SubjectRequest
from apps.privacy.services import subject_erase


class ErasureForm(forms.ModelForm):
    """An erasure: the property, and the person's id (the record keeps only its keyed hash)."""

    visitor_id = forms.CharField(required=False, max_length=128, help_text="The visitor id the site sent.")
    user_id_hash = forms.CharField(required=False, max_length=128, help_text="Or the user id hash it sent.")

    class Meta:
        model = SubjectRequest
        fields = ["property"]

    def clean(self):
        cleaned = super().clean()
        given = [name for name in SUBJECT_FIELDS if cleaned.get(name)]
        if len(given) != 1:
            raise forms.ValidationError("Name the person by one of visitor id or user id hash.")
        cleaned["field"] = given[0]
        return cleaned


@admin.register(SubjectRequest)
class SubjectRequestAdmin(CreateOnlyTenantAdmin):
    """The audit of erasure and access requests (who asked, when, how many events); adding one erases
    a person now (docs/privacy.md)."""

    form = ErasureForm
    list_display = ["property", "kind", "events", "requested_by", "requested_at"]
    list_filter = [("property", admin.RelatedOnlyFieldListFilter), "kind"]
    list_select_related = ["property"]
    search_fields = ["property__name", "property__public_id", "requested_by"]
    ordering = ["-requested_at"]
    autocomplete_fields = ["property"]
    add_fields = ["property", *SUBJECT_FIELDS]
    detail_fields = ["property", "kind", "subject_hash", "events", "requested_by", "requested_at"]

    def save_model(self, request, obj, form, change):
        field = form.cleaned_data["field"]
        erased = subject_erase(
            property=form.cleaned_data["property"],
            field=field,
            value=form.cleaned_data[field],
            requested_by=request.user.email,
        )
        self.take_over(obj, erased)
