"""The admin site: operators (superusers) see everything; organisation owners and admins see their own."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from apps.accounts.models import Membership, Role, roles_at_least


def admin_access_allowed(user) -> bool:
    """Superusers, and members holding the admin or owner role in at least one organisation."""
    if not (user.is_active and user.is_authenticated):
        return False
    return user.is_superuser or Membership.objects.filter(user=user, role__in=roles_at_least(Role.ADMIN)).exists()


class TenantAdminAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not admin_access_allowed(user):
            raise ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": "email"}
            )


class ClickmeterAdminSite(admin.AdminSite):
    site_header = "Clickmeter administration"
    site_title = "Clickmeter"
    login_form = TenantAdminAuthenticationForm

    def has_permission(self, request):
        return admin_access_allowed(request.user)
