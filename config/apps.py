from django.contrib.admin.apps import AdminConfig


class ClickmeterAdminConfig(AdminConfig):
    """Django admin with the tenant-aware site of config/admin.py."""

    default_site = "config.admin.ClickmeterAdminSite"
