from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    """The kernel every app builds on: API plumbing, tenancy, rate limits, health."""

    default = True
    name = "apps.core"
    label = "core"


class ClickmeterAdminConfig(admin_apps.AdminConfig):
    """Django admin with the tenant-aware site of apps/core/admin.py."""

    default = False
    default_site = "apps.core.admin.ClickmeterAdminSite"
