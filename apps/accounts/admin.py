from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Invitation, Membership, Organization, User
from apps.accounts.services import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    membership_set,
    organization_create,
    organization_delete,
    organization_update,
)
from apps.core.admin import CreateOnlyTenantAdmin, SuperuserOnlyAdmin, TenantAdmin
from apps.core.tenancy import Role


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, DjangoUserAdmin):
    """The deployment's accounts: operators only (members manage people through memberships and invitations)."""

    ordering = ["email"]
    list_display = ["email", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    """An organisation's members, read-only: roles change and members leave through the Membership admin."""

    model = Membership
    fields = readonly_fields = ("member", "role", "created_at")
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return Membership.objects.for_user(request.user, role=Role.ADMIN).select_related("user")

    @admin.display(description="member")
    def member(self, membership):
        return membership.user.email

    def has_view_permission(self, request, obj=None):
        # Shown only inside an organisation's page, which the Organization admin has already scoped.
        return True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrganizationAddForm(forms.ModelForm):
    owner = forms.ModelChoiceField(queryset=User.objects.order_by("email"), help_text="The organisation's first owner.")


@admin.register(Organization)
class OrganizationAdmin(TenantAdmin):
    """Admins see their organisations, owners rename them; superusers add them (with an owner) and delete them."""

    change_role = Role.OWNER
    add_role = None
    delete_role = None
    action_role = Role.OWNER
    list_display = ["name", "public_id", "slug", "created_at"]
    search_fields = ["name", "slug", "public_id"]
    ordering = ["name"]
    inlines = [MembershipInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "owner"]
        return ["name", "public_id", "slug", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["public_id", "slug", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = OrganizationAddForm
        return super().get_form(request, obj, **kwargs)

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            organization_update(organization=obj, name=form.cleaned_data["name"])
        else:
            self.take_over(obj, organization_create(name=form.cleaned_data["name"], owner=form.cleaned_data["owner"]))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        described = [f"{name}, with its members, invitations, properties, keys, events and reports" for name in deleted]
        return described, counts, perms_needed, protected

    def delete_model(self, request, obj):
        organization_delete(organization=obj)


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    """Admins see their organisations' members; owners change roles and remove members.

    Both go through the services that keep an owner in every organisation. Members join by
    invitation, so only superusers add memberships here.
    """

    change_role = Role.OWNER
    delete_role = Role.OWNER
    add_role = None
    action_role = Role.OWNER
    list_display = ["member", "organization", "role", "created_at"]
    list_filter = ["role", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "organization"]
    search_fields = ["user__email", "organization__name"]
    ordering = ["organization__name", "user__email"]
    autocomplete_fields = ["user", "organization"]

    @admin.display(description="member", ordering="user__email")
    def member(self, membership):
        return membership.user.email

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "organization", "role"]
        return ["member", "organization", "role", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["member", "organization", "created_at"]

    def save_model(self, request, obj, form, change):
        role = form.cleaned_data["role"]
        if change:
            obj.refresh_from_db(fields=["role"])
            membership_role_change(membership=obj, role=role)
        else:
            membership = membership_set(user=form.cleaned_data["user"], organization=obj.organization, role=role)
            self.take_over(obj, membership)

    def delete_model(self, request, obj):
        membership_remove(membership=obj)


class InvitationStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, status) for status in ("pending", "accepted", "expired", "withdrawn")]

    def queryset(self, request, queryset):
        open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
        return {
            "pending": queryset.filter(open_, expires_at__gt=timezone.now()),
            "accepted": queryset.filter(accepted_at__isnull=False),
            "expired": queryset.filter(open_, expires_at__lte=timezone.now()),
            "withdrawn": queryset.filter(revoked_at__isnull=False),
        }.get(self.value(), queryset)


def invitation_status(invitation: Invitation) -> str:
    if invitation.revoked_at is not None:
        return "withdrawn"
    if invitation.accepted_at is not None:
        return "accepted"
    return "expired" if invitation.expires_at <= timezone.now() else "pending"


@admin.register(Invitation)
class InvitationAdmin(CreateOnlyTenantAdmin):
    """Owners invite people by email (the link is mailed) and withdraw pending invitations; admins see them.

    An invitation is never edited or deleted: it is withdrawn, and its history stays.
    """

    add_role = Role.OWNER
    action_role = Role.OWNER
    list_display = ["email", "organization", "role", "status", "mail", "invited_by_email", "created_at", "expires_at"]
    list_filter = [InvitationStatusFilter, "role", ("organization", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["organization", "invited_by"]
    search_fields = ["email", "organization__name"]
    ordering = ["-created_at"]
    actions = ["withdraw_selected", "resend_selected"]
    add_fields = ["organization", "email", "role"]
    detail_fields = [
        "email",
        "organization",
        "role",
        "status",
        "invited_by_email",
        "created_at",
        "expires_at",
        "accepted_at",
        "accepted_by_email",
        "revoked_at",
        "mail",
        "mail_attempted_at",
        "mail_sent_at",
    ]

    @admin.display(description="status")
    def status(self, invitation):
        return invitation_status(invitation)

    @admin.display(description="email")
    def mail(self, invitation):
        """Whether its email went out: pending (being retried), sent or failed, with the attempts so far."""
        attempts = invitation.mail_attempts
        return f"{invitation.get_mail_status_display()} ({attempts} attempt{'' if attempts == 1 else 's'})"

    @admin.display(description="invited by")
    def invited_by_email(self, invitation):
        return invitation.invited_by.email if invitation.invited_by else "-"

    @admin.display(description="accepted by")
    def accepted_by_email(self, invitation):
        return invitation.accepted_by.email if invitation.accepted_by else "-"

    def has_withdraw_permission(self, request):
        return self.member_may(request, Role.OWNER)

    def has_resend_permission(self, request):
        return self.member_may(request, Role.OWNER)

    def save_model(self, request, obj, form, change):
        invitation, _ = invitation_create(
            organization=form.cleaned_data["organization"],
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
            site_url=request.build_absolute_uri("/"),
        )
        self.take_over(obj, invitation)

    @admin.action(description="Withdraw selected invitations", permissions=["withdraw"])
    def withdraw_selected(self, request, queryset):
        pending = [invitation for invitation in queryset if invitation_status(invitation) == "pending"]
        for invitation in pending:
            invitation_revoke(invitation=invitation)
        messages.success(request, f"Withdrew {len(pending)} pending invitation(s); their links no longer work.")

    @admin.action(description="Send the email of selected invitations again", permissions=["resend"])
    def resend_selected(self, request, queryset):
        open_ = [invitation for invitation in queryset if invitation_status(invitation) == "pending"]
        for invitation in open_:
            invitation_resend(invitation=invitation, site_url=request.build_absolute_uri("/"))
        messages.success(request, f"Queued the email of {len(open_)} pending invitation(s) again.")
