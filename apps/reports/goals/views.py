"""Goals' section of the settings page (registered in ReportsConfig.ready()): adding and deleting one."""

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
from apps.reports.goals.forms import GoalCreateForm
from apps.reports.goals.selectors import goal_access, goals_of_property
from apps.reports.goals.services import goal_create, goal_delete


def goals_settings_context(*, property: Property) -> dict:
    """The goals section of the settings page: the property's goals, and a new goal's form."""
    return {"goals": list(goals_of_property(property=property)), "goal_form": GoalCreateForm()}


@require_POST
@login_required
@never_cache
def property_goal_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = GoalCreateForm(request.POST)
    if form.is_valid():
        try:
            goal = goal_create(property=prop, **form.cleaned_data)
        except ApplicationError as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, f"Added the goal “{goal.name}”.")
            return redirect(settings_url(prop, "goals"))
    return settings_page(request, prop, goal_form=form, status=400)


@require_POST
@login_required
def property_goal_delete(request, property_id: str, goal_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    goal = goal_access(property=prop, goal_id=goal_id)
    goal_delete(goal=goal)
    messages.success(request, f"Deleted the goal “{goal.name}”.")
    return redirect(settings_url(prop, "goals"))
