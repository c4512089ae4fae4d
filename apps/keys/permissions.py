from rest_framework.permissions import BasePermission

from apps.core.api import IsMember
from apps.keys.selectors import ResolvedKey


class HasApiKey(BasePermission):
    """Allow only requests authenticated by an API key (of the kind the view's authenticator takes)."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ResolvedKey)


class IsMemberOrHasApiKey(BasePermission):
    def has_permission(self, request, view):
        return HasApiKey().has_permission(request, view) or IsMember().has_permission(request, view)


def request_actor(request):
    """Who a request acts as: its API key, or else its user."""
    return request.auth if isinstance(request.auth, ResolvedKey) else request.user
