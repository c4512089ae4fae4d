"""Tenancy: roles, and the one door through which requests reach an organisation's rows.

Every tenant model has two managers. `objects` is the door: its querysets refuse to run until they
are scoped to an actor (`for_user`, `for_actor`), so a forgotten scope is an error, never another
tenant's rows. `unscoped` is for code that has already authorised what it touches — services, tasks,
authentication lookups — and says so by its name. Django's own machinery (related managers, unique
checks, cascades) uses `unscoped`, the models' default manager. A tenant model names its paths on a
TenantQuerySet subclass and declares both managers from it, `unscoped` first so that it is the default:

    class PropertyQuerySet(TenantQuerySet["Property"]):
        organization_path = "organization"
        property_path = "pk"

    class Property(models.Model):
        unscoped = models.Manager.from_queryset(PropertyQuerySet)()
        objects = TenantManager.from_queryset(PropertyQuerySet)()

The memberships that decide a user's scope are the model named by the setting
CLICKMETER_MEMBERSHIP_MODEL (`user`, `organization` and `role` fields), looked up lazily as Django
does for AUTH_USER_MODEL, so the kernel depends on no app.
"""

from collections.abc import Iterator
from typing import Any, Protocol, Self, TypeVar, cast, runtime_checkable

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import OuterRef, Subquery
from django.http import Http404


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


ROLE_RANK: dict[str, int] = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}


def roles_at_least(role: str) -> list[str]:
    return [other for other, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]


def role_allows(role: str | None, needed: str) -> bool:
    return role is not None and ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


# A user as the kernel sees one: the project's user model (an AbstractUser), or the anonymous user.
User = AbstractUser | AnonymousUser


class MembershipModel(Protocol):
    """The model CLICKMETER_MEMBERSHIP_MODEL names, as far as the kernel uses it."""

    unscoped: models.Manager[Any]


def membership_model() -> MembershipModel:
    return cast(MembershipModel, apps.get_model(settings.CLICKMETER_MEMBERSHIP_MODEL))


def member_holds(user: User, role: str) -> bool:
    """Whether `user` holds at least `role` in at least one organisation."""
    return membership_model().unscoped.filter(user=user, role__in=roles_at_least(role)).exists()


@runtime_checkable
class PropertyActor(Protocol):
    """An actor bound to one property with a viewer's rights: an API key, a shared link."""

    id: int
    property_id: int


Actor = User | PropertyActor


class UnscopedQuery(Exception):
    """A tenant model's `objects` queryset was run without being scoped to an actor."""


_Model = TypeVar("_Model", bound=models.Model)


class TenantQuerySet(models.QuerySet[_Model]):
    """Rows that belong to an organisation (see the module's docstring).

    `organization_path` is the lookup from the model to its Organization; `property_path` the lookup
    to its Property, for models a property-bound actor may reach (None: no such actor reaches them).
    """

    organization_path: str
    property_path: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_required = False
        self._scoped = False

    def _clone(self) -> Self:
        clone: Self = super()._clone()  # type: ignore[misc]  # Django's private method, absent from the stubs
        clone._scope_required, clone._scoped = self._scope_required, self._scoped
        return clone

    def _scoped_clone(self) -> Self:
        clone = self.all()
        clone._scoped = True
        return clone

    def _fetch_all(self) -> None:
        self._scope_check()
        super()._fetch_all()

    def _scope_check(self) -> None:
        if self._scope_required and not self._scoped:
            raise UnscopedQuery(
                f"{self.model.__name__}.objects reached the database without for_user/for_actor; "
                f"scope it, or use {self.model.__name__}.unscoped where the caller is already authorised."
            )

    # Every way a queryset reaches the database without _fetch_all checks the scope too.
    def count(self) -> int:
        self._scope_check()
        return super().count()

    def exists(self) -> bool:
        self._scope_check()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._scope_check()
        return super().aggregate(*args, **kwargs)

    def iterator(self, chunk_size: int | None = None) -> Iterator[_Model]:
        self._scope_check()
        return super().iterator(chunk_size)

    def update(self, **kwargs: Any) -> int:
        self._scope_check()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._scope_check()
        return super().delete()

    def none(self) -> Self:
        empty = super().none()
        empty._scoped = True  # nothing to leak
        return empty

    def for_user(self, user: User | None, *, role: str = Role.VIEWER) -> Self:
        """Rows of the organisations where `user` holds at least `role`; all rows for a superuser."""
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self._scoped_clone()
        organizations = membership_model().unscoped.filter(user=user, role__in=roles_at_least(role))
        return self._scoped_clone().filter(**{f"{self.organization_path}__in": organizations.values("organization_id")})

    def for_actor(self, actor: Actor | None, *, role: str = Role.VIEWER) -> Self:
        """Rows `actor` may reach with `role`: a member's by role; a property-bound actor's (a key, a
        shared link) those of its own property, and only to view."""
        if isinstance(actor, PropertyActor):
            if self.property_path is None or role != Role.VIEWER:
                return self.none()
            return self._scoped_clone().filter(**{self.property_path: actor.property_id})
        return self.for_user(actor, role=role)

    def access(self, actor: Actor, *, role: str = Role.VIEWER, **lookup: Any) -> _Model:
        """Return the one row matching `lookup` that `actor` may see, checked for `role`.

        A row out of the actor's reach is a 404 exactly like a missing one; a row a member can see but
        not act on with their role is a PermissionDenied (403), as is any write by a property-bound actor.
        """
        if isinstance(actor, PropertyActor):
            found = self.for_actor(actor).filter(**lookup).first()
            if found is None:
                raise Http404
            if role != Role.VIEWER:
                raise PermissionDenied("An API key cannot do this; use a member's credentials.")
            return found
        member_role = membership_model().unscoped.filter(
            user_id=actor.pk, organization_id=OuterRef(self.organization_path)
        )
        # annotate() keeps the row's model; the Django plugin loses it on a generic queryset.
        rows = cast(
            Self, self.for_user(actor).filter(**lookup).annotate(tenant_role=Subquery(member_role.values("role")[:1]))
        )
        found = rows.first()
        if found is None:
            raise Http404
        tenant_role: str | None = found.tenant_role  # type: ignore[attr-defined]  # annotated just above
        if not actor.is_superuser and not role_allows(tenant_role, role):
            raise PermissionDenied(f"This needs the {role} role in the organisation.")
        return found

    def by_id(self, row_id: int | str) -> _Model:
        """The row with this numeric id among rows the caller has already been let through to; 404
        for a missing or malformed id."""
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        found = self.filter(pk=row_id).first() if str(row_id).isascii() and str(row_id).isdigit() else None
        if found is None:
            raise Http404
        return found


class TenantManager(models.Manager[_Model]):
    """`objects` of a tenant model: querysets that must be scoped before they run."""

    def get_queryset(self) -> TenantQuerySet[_Model]:
        # A TenantManager is built with from_queryset(a TenantQuerySet), whose get_queryset this is.
        queryset = cast(TenantQuerySet[_Model], super().get_queryset())
        queryset._scope_required = True
        return queryset
