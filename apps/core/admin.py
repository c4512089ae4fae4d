"""The admin site: operators (superusers) see everything; organisation owners and admins see their own.

Every registered model admin is one of two kinds, and the site enforces it at registration:
a `TenantAdmin` (a tenant model: rows only through its scoping door, permissions from the member's
role) or superuser-only (anything else, including third-party admins, which the site wraps in
`SuperuserOnlyAdmin`). Registering a tenant model with any other admin class is refused, so a
model added later cannot skip scoping silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models.base import ModelBase
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from apps.core.api import ApplicationError
from apps.core.tenancy import Role, TenantQuerySet, User, member_holds

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups

    # ModelAdmin is generic in the stubs only: Django's class cannot be subscripted at run time.
    ModelAdmin = admin.ModelAdmin[Any]
    SuperuserOnlyAdminBase = admin.ModelAdmin[Any]
else:
    ModelAdmin = admin.ModelAdmin
    SuperuserOnlyAdminBase = object


def admin_access_allowed(user: User) -> bool:
    """Superusers, and members holding the admin or owner role in at least one organisation."""
    if not (user.is_active and user.is_authenticated):
        return False
    return user.is_superuser or member_holds(user, Role.ADMIN)


def is_operator(user: User) -> bool:
    return user.is_active and user.is_authenticated and user.is_superuser


def is_tenant_model(model: type[models.Model]) -> bool:
    return isinstance(model._default_manager.all(), TenantQuerySet)


class SuperuserOnlyAdmin(SuperuserOnlyAdminBase):
    """Keep a model admin to superusers, whatever Django model permissions a member may hold.

    Mixed in before the admin class, it only ever narrows what that class allows.
    """

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        # No rows for anyone else, so no page (history included) can tell an existing id from a missing one.
        queryset = super().get_queryset(request)
        return queryset if is_operator(request.user) else queryset.none()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operator(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return is_operator(request.user) and super().has_view_permission(request, *args, **kwargs)

    def has_add_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return is_operator(request.user) and super().has_add_permission(request, *args, **kwargs)

    def has_change_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return is_operator(request.user) and super().has_change_permission(request, *args, **kwargs)

    def has_delete_permission(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return is_operator(request.user) and super().has_delete_permission(request, *args, **kwargs)


class TenantAdmin(ModelAdmin):
    """The admin of a tenant model: members see and act on their own organisations' rows, by role.

    Rows come only through the model's scoping door (`for_user`), so the list, change form, history,
    delete page, actions and autocomplete (which reuses `get_queryset`) never reach another
    organisation, and a row outside the user's scope is a 404 exactly like a missing one.

    Permissions come from the member's role in the row's organisation, not from Django model
    permissions: `view_role` to see (and the queryset's scope), `add_role`, `change_role` and
    `delete_role` to act (None: superusers only), `action_role` for what admin actions receive.
    All default to admin; the Organization, Membership and Invitation admins ask owner for writes.
    Superusers see and may do everything.

    Foreign-key choices (chosen when adding) are the related tenant rows where the user holds
    `add_role`, so posting another organisation's id is a form error; non-tenant targets offer
    nothing to members. Subclasses write through services in `save_model`/`delete_model`/actions;
    a refusal raised by a service (ApplicationError, ValidationError) becomes an error message
    and the whole request is rolled back.
    """

    view_role: str = Role.ADMIN
    add_role: str | None = Role.ADMIN
    change_role: str | None = Role.ADMIN
    delete_role: str | None = Role.ADMIN
    action_role: str = Role.ADMIN

    def member_may(self, request: HttpRequest, role: str | None, obj: models.Model | None = None) -> bool:
        """Whether the user holds `role` in `obj`'s organisation (in some organisation without `obj`)."""
        user = request.user
        if not (user.is_active and user.is_authenticated):
            return False
        if user.is_superuser:
            return True
        if role is None:
            return False
        if obj is None:
            return member_holds(user, role)
        rows: TenantQuerySet[Any] = self.model.objects.for_user(user, role=role)
        return rows.filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.member_may(request, self.view_role)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self.member_may(request, self.view_role, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.member_may(request, self.add_role)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self.member_may(request, self.change_role, obj)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return self.member_may(request, self.delete_role, obj)

    def get_queryset(self, request: HttpRequest) -> TenantQuerySet[Any]:
        return self._tenant_queryset(super().get_queryset(request)).for_user(request.user, role=self.view_role)

    @staticmethod
    def _tenant_queryset(queryset: models.QuerySet[Any]) -> TenantQuerySet[Any]:
        # The site registers tenant models only with a TenantAdmin, and only them (see register).
        return cast(TenantQuerySet[Any], queryset)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        """The row, or a 404 for one that is missing or another organisation's (Django would redirect)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404
        return obj

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if not request.user.is_superuser:
            choices = db_field.related_model._default_manager.all()  # `unscoped`, until scoped just below
            if isinstance(choices, TenantQuerySet) and self.add_role is not None:
                kwargs["queryset"] = choices.for_user(request.user, role=self.add_role)
            else:
                kwargs["queryset"] = choices.none()
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and field.queryset is not None:
            only_choice = list(field.queryset[:2])
            if len(only_choice) == 1:  # a member of one organisation need not pick it
                field.initial = only_choice[0].pk
        return field

    def get_actions(self, request: HttpRequest) -> dict[str, tuple[Callable[..., str], str, str] | None]:
        # Bulk deletion would bypass the services; objects are deleted one at a time from their page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def response_action(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> HttpResponse | None:
        scoped = self._tenant_queryset(queryset).for_user(request.user, role=self.action_role)
        return super().response_action(request, scoped)

    def get_deleted_objects(
        self, objs: Sequence[Any] | models.QuerySet[Any], request: HttpRequest
    ) -> tuple[list[str], dict[str, int], set[str], list[str]]:
        # What cascades with an object (a property's keys, events and reports) belongs to it and can be
        # millions of rows: list only the objects, and let their own delete permission decide.
        return [str(obj) for obj in objs], {str(self.opts.verbose_name_plural): len(objs)}, set(), []

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ApplicationError, ValidationError) as refusal:
            self.message_refusal(request, refusal)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ApplicationError, ValidationError) as refusal:
            self.message_refusal(request, refusal)
            change_url = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
            return HttpResponseRedirect(reverse(change_url, args=[object_id], current_app=self.admin_site.name))

    @staticmethod
    def message_refusal(request: HttpRequest, refusal: ApplicationError | ValidationError) -> None:
        text = refusal.message if isinstance(refusal, ApplicationError) else " ".join(refusal.messages)
        messages.error(request, text)

    @staticmethod
    def take_over(obj: models.Model, created: models.Model) -> None:
        """Make the admin form's unsaved `obj` the row a service created, for Django's log and redirect."""
        vars(obj).update(vars(created))


class CreateOnlyTenantAdmin(TenantAdmin):
    """A TenantAdmin for rows made once from `add_fields` and never edited or deleted afterwards
    (they are withdrawn or revoked by an action); an existing row shows `detail_fields`, read-only."""

    add_fields: list[str]
    detail_fields: list[str]

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None) -> _FieldGroups:
        return tuple(self.add_fields if obj is None else self.detail_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> list[str]:
        return [] if obj is None else self.detail_fields

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


class TenantAdminAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        if not admin_access_allowed(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": "email"}
            )


class ClickmeterAdminSite(admin.AdminSite):
    site_header = "Clickmeter administration"
    site_title = "Clickmeter"
    login_form = TenantAdminAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return admin_access_allowed(request.user)

    def register(
        self,
        model_or_iterable: type[models.Model] | Iterable[type[models.Model]],
        admin_class: type[ModelAdmin] | None = None,
        **options: Any,
    ) -> None:
        """Register tenant models with a TenantAdmin only; make any other admin superuser-only."""
        admin_class = admin_class or admin.ModelAdmin
        models = [model_or_iterable] if isinstance(model_or_iterable, ModelBase) else list(model_or_iterable)
        if not issubclass(admin_class, TenantAdmin):
            tenant_models = [model.__name__ for model in models if is_tenant_model(model)]
            if tenant_models:
                raise ImproperlyConfigured(
                    f"{', '.join(tenant_models)} belong to organisations: register them with a TenantAdmin."
                )
            if not issubclass(admin_class, SuperuserOnlyAdmin):
                admin_class = type(
                    admin_class.__name__, (SuperuserOnlyAdmin, admin_class), {"__module__": admin_class.__module__}
                )
        super().register(models, admin_class, **options)
