"""Funnels' section of the settings page (registered in ReportsConfig.ready()): adding and deleting one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.api import ApplicationError
from apps.core.tenancy import Role
from apps.properties.models import Property
from apps.properties.selectors import property_access
from apps.properties.views import settings_page, settings_url
from apps.reports.funnels.forms import FunnelCreateForm
from apps.reports.funnels.selectors import funnel_access, funnels_of_property
from apps.reports.funnels.services import funnel_create, funnel_delete


def funnels_settings_context(*, property: Property) -> dict:
    """The funnels section of the settings page: the property's funnels, and a new funnel's form."""
    return {"funnels": list(funnels_of_property(property=property)), "funnel_form": FunnelCreateForm()}


@require_POST
@login_required
@never_cache
def property_funnel_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = FunnelCreateForm(request.POST)
    if form.is_valid():
        try:
            funnel = funnel_create(property=prop, **form.service_arguments())
        except ApplicationError as refusal:
            form.refusal_add(refusal.field, refusal.message)
        else:
            messages.success(request, f"Added the funnel “{funnel.name}”.")
            return redirect(settings_url(prop, "funnels"))
    return settings_page(request, prop, funnel_form=form, status=400)


@require_POST
@login_required
def property_funnel_delete(request, property_id: str, funnel_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    funnel = funnel_access(property=prop, funnel_id=funnel_id)
    funnel_delete(funnel=funnel)
    messages.success(request, f"Deleted the funnel “{funnel.name}”.")
    return redirect(settings_url(prop, "funnels"))
