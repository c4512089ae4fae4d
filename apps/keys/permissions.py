from rest_framework.permissions import BasePermission


class HasApiKey(BasePermission):
    """Allow only requests authenticated by an API key (of the kind the view's authenticator takes)."""

    def has_permission(self, request, view):
        return request.auth is not None
