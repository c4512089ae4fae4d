from django.db import transaction
from django.utils.text import slugify

from apps.accounts.models import Membership, Organization, User


def organization_get_or_create(*, name: str) -> Organization:
    """Return the organisation with this name's slug, creating it when missing."""
    slug = slugify(name)[:100] or "org"
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name})
    return organization


@transaction.atomic
def membership_set(*, user: User, organization: Organization, role: str) -> Membership:
    """Give `user` exactly `role` in `organization`."""
    membership, _ = Membership.objects.update_or_create(user=user, organization=organization, defaults={"role": role})
    return membership
