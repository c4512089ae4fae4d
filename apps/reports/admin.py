from django import forms
from django.contrib import admin, messages
from django.urls import reverse

from apps.core.admin import CreateOnlyTenantAdmin, TenantAdmin
from apps.reports.funnels.services import funnel_create, funnel_delete
from apps.reports.goals.services import goal_create, goal_delete
from apps.reports.models import Funnel, Goal, SharedLink
from apps.reports.shared_links.services import shared_link_create, shared_link_revoke


class SharedLinkForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Optional: visitors must enter it to see the dashboard. Stored hashed.",
    )

    class Meta:
        model = SharedLink
        fields = ["property", "name"]


@admin.register(SharedLink)
class SharedLinkAdmin(CreateOnlyTenantAdmin):
    """Admins create and revoke read-only public links to their properties' dashboards.

    The link is shown once, in a message kept in the server-side session; only its prefix is
    stored in the clear. A link is revoked, never edited or deleted.
    """

    form = SharedLinkForm
    list_display = ["name", "prefix", "property", "protected", "created_by", "created_at", "revoked_at"]
    list_filter = [("property", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["property", "created_by"]
    search_fields = ["name", "prefix", "property__name", "property__public_id"]
    ordering = ["-created_at", "-pk"]
    autocomplete_fields = ["property"]
    actions = ["revoke_selected"]
    add_fields = ["property", "name", "password"]
    detail_fields = ["property", "name", "prefix", "protected", "created_by", "created_at", "revoked_at"]

    @admin.display(description="password", boolean=True)
    def protected(self, shared_link):
        return shared_link.has_password()

    def save_model(self, request, obj, form, change):
        shared_link, token = shared_link_create(
            property=form.cleaned_data["property"],
            name=form.cleaned_data["name"],
            password=form.cleaned_data["password"] or None,
            created_by=request.user,
        )
        self.take_over(obj, shared_link)
        url = request.build_absolute_uri(reverse("shared-dashboard", args=[token]))
        messages.warning(request, f"Shared link “{shared_link.name}”: {url} — copy it now, it will not be shown again.")

    @admin.action(description="Revoke selected shared links")
    def revoke_selected(self, request, queryset):
        shared_links = [shared_link for shared_link in queryset if shared_link.revoked_at is None]
        for shared_link in shared_links:
            shared_link_revoke(shared_link=shared_link)
        messages.success(request, f"Revoked {len(shared_links)} shared link(s).")


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ["property", "name", "kind", "path_pattern", "event_type", "properties", "currency"]
        help_texts = {
            "path_pattern": "Pageview goals: a path; * is any text within a segment, ** any text (/blog/**).",
            "properties": 'Event goals, optional: custom properties the event must carry, as {"plan": "pro"}.',
            "currency": "Event goals, optional: a currency (EUR) makes a revenue goal, summing data.revenue.",
        }


@admin.register(Goal)
class GoalAdmin(CreateOnlyTenantAdmin):
    """Admins create and delete their properties' goals (checked by the same service as the API's);
    a goal is not edited: the reports of a changed goal would be of another question."""

    form = GoalForm
    list_display = ["name", "kind", "path_pattern", "event_type", "property", "created_at"]
    list_filter = [("property", admin.RelatedOnlyFieldListFilter), "kind"]
    list_select_related = ["property"]
    search_fields = ["name", "path_pattern", "event_type", "property__name", "property__public_id"]
    ordering = ["property", "name"]
    autocomplete_fields = ["property"]
    add_fields = ["property", "name", "kind", "path_pattern", "event_type", "properties", "currency"]
    detail_fields = [*add_fields, "created_at"]

    def has_delete_permission(self, request, obj=None):
        return TenantAdmin.has_delete_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        self.take_over(obj, goal_create(**{name: form.cleaned_data[name] for name in self.add_fields}))

    def delete_model(self, request, obj):
        goal_delete(goal=obj)


class FunnelForm(forms.ModelForm):
    class Meta:
        model = Funnel
        fields = ["property", "name", "steps", "window_days"]
        help_texts = {
            "steps": '2 to 8 steps in order, as [{"kind": "page", "value": "/pricing"}, {"kind": "goal", "value":'
            ' "Signup"}]; a kind is goal (by name), page (a path; * within a segment, ** any text) or event (a type).',
            "window_days": "Walk the steps within this many days (1 to 90) of the first; empty: within one visit.",
        }


@admin.register(Funnel)
class FunnelAdmin(CreateOnlyTenantAdmin):
    """Admins create and delete their properties' funnels (checked by the same service as the API's);
    a funnel is not edited: its answers would be of another question."""

    form = FunnelForm
    list_display = ["name", "property", "window_days", "created_at"]
    list_filter = [("property", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["property"]
    search_fields = ["name", "property__name", "property__public_id"]
    ordering = ["property", "name"]
    autocomplete_fields = ["property"]
    add_fields = ["property", "name", "steps", "window_days"]
    detail_fields = [*add_fields, "created_at"]

    def has_delete_permission(self, request, obj=None):
        return TenantAdmin.has_delete_permission(self, request, obj)

    def save_model(self, request, obj, form, change):
        self.take_over(obj, funnel_create(**{name: form.cleaned_data[name] for name in self.add_fields}))

    def delete_model(self, request, obj):
        funnel_delete(funnel=obj)
