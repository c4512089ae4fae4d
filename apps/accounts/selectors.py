"""Reads for organisations and their members, always through the tenant door (TenantQuerySet)."""

from django.db.models import OuterRef, QuerySet, Subquery

from apps.accounts.models import Invitation, InvitationQuerySet, Membership, MembershipQuerySet, Organization, User
from apps.core.tenancy import Role


def organizations_of_user(*, user: User) -> QuerySet[Organization]:
    """The organisations `user` is a member of, each annotated with `role` (the user's role in it).

    Operators (superusers) too see only their own here; they reach the others through the admin.
    """
    role = Membership.objects.filter(user_id=user.pk, organization=OuterRef("pk")).values("role")[:1]
    return (
        Organization.objects.for_user(user)
        .annotate(role=Subquery(role))
        .filter(role__isnull=False)
        .order_by("name", "pk")
    )


def organization_access(*, user: User, public_id: str, role: str = Role.VIEWER) -> Organization:
    """One organisation of `user`'s, checked for `role`; 404 for any other, 403 if the role is too low."""
    return Organization.objects.access(user, role=role, public_id=public_id)


def memberships_of_organization(*, organization: Organization) -> MembershipQuerySet:
    """An organisation's members (the caller has passed the organisation door)."""
    return organization.memberships.select_related("user").order_by("created_at", "pk")


def membership_access(*, organization: Organization, membership_id: int | str) -> Membership:
    """One membership of an organisation the caller has passed the door for; 404 for any other id."""
    return memberships_of_organization(organization=organization).by_id(membership_id)


def invitations_pending(*, organization: Organization) -> InvitationQuerySet:
    """Invitations of an organisation not yet accepted or withdrawn (expired ones included)."""
    return organization.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).order_by("-created_at")


def invitation_access(*, organization: Organization, invitation_id: int | str) -> Invitation:
    """One pending invitation of an organisation the caller has passed the door for; 404 for any other id."""
    return invitations_pending(organization=organization).by_id(invitation_id)
