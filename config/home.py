"""The signed-in home page: it spans accounts and properties, so it lives where the apps are wired."""

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.accounts.selectors import organizations_of_user
from apps.properties.selectors import properties_of_user
from config.admin import admin_access_allowed


@require_safe
@login_required
def home(request):
    organizations = list(organizations_of_user(user=request.user))
    properties_by_organization = defaultdict(list)
    for prop in properties_of_user(user=request.user, organizations=organizations):
        properties_by_organization[prop.organization_id].append(prop)
    organizations = [(organization, properties_by_organization[organization.pk]) for organization in organizations]
    context = {"organizations": organizations, "admin_allowed": admin_access_allowed(request.user)}
    return render(request, "home.html", context)
