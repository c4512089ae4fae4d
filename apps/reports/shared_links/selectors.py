"""Reads of shared links: the link a token names, and a property's links behind the property door."""

from django.db.models import QuerySet
from django.http import Http404

from apps.keys.services import api_key_hash
from apps.properties.models import Property
from apps.reports.models import SharedLink
from apps.reports.shared_links.services import SHARED_LINK_PREFIX

MAX_TOKEN_LENGTH = 64


def shared_link_resolve(token: str) -> SharedLink | None:
    """The active (not revoked) shared link with this token, with its property; None for any other.

    The lookup is by the token's SHA-256 hash, an indexed equality on a value an attacker cannot
    choose, so its timing tells nothing about other tokens.
    """
    if not token.startswith(SHARED_LINK_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        SharedLink.unscoped.select_related("property")
        .filter(token_hash=api_key_hash(token), revoked_at__isnull=True)
        .first()
    )


def shared_links_of_property(*, property: Property) -> QuerySet[SharedLink]:
    """A property's shared links, revoked ones included, newest first (the caller has passed the door)."""
    return property.shared_links.select_related("created_by").order_by("-created_at", "-pk")


def shared_link_access(*, property: Property, shared_link_id: int | str) -> SharedLink:
    """One shared link of a property the caller has passed the door for; 404 for any other id."""
    found = property.shared_links.filter(pk=shared_link_id).first() if str(shared_link_id).isdigit() else None
    if found is None:
        raise Http404
    return found
