"""A property's pages: a new property and the wait for its first event, and its settings.

The settings page shows the property's settings and beacon snippet, and to admins the sections the
apps above add (hooks.settings_sections): the keys app's keys, the reports app's shared links.
Pages that show a secret render it in the answer to the POST that created it, never store it, and
are not cached.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts.selectors import organization_access
from apps.core.tenancy import Role, role_allows
from apps.properties import hooks
from apps.properties.forms import PropertyCreateForm, PropertySettingsForm
from apps.properties.models import Property
from apps.properties.selectors import property_access
from apps.properties.services import property_create_with_keys, property_update


def role_at_least(user, role: str | None, needed: str) -> bool:
    return user.is_superuser or role_allows(role, needed)


def member_is_admin(user, prop: Property) -> bool:
    """Whether the user may change `prop`: the role the property door found (`tenant_role`)."""
    return role_at_least(user, prop.tenant_role, Role.ADMIN)  # type: ignore[attr-defined]  # annotated by the door


# --- A new property, and the wait for its first event ---------------------------------------------

# How often the waiting page asks whether the first event has arrived.
FIRST_EVENT_POLL_SECONDS = 3


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def property_new(request, organization_id: str):
    """A new property of an organisation (its admins and owners), with its first write and read keys,
    as the API creates one; the answer shows the keys, once, and waits for the first event."""
    organization = organization_access(user=request.user, public_id=organization_id, role=Role.ADMIN)
    form = PropertyCreateForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            prop, secrets = property_create_with_keys(organization=organization, **form.property_fields())
        except ValidationError as error:
            _validation_errors_add(form, error, renamed={"domains": "domain"})
        else:
            return waiting_page(
                request, prop, is_admin=True, write_key=secrets["write"], read_key=secrets["read"], status=201
            )
    context = {"organization": organization, "form": form}
    return render(request, "properties/property_new.html", context, status=400 if form.is_bound else 200)


def waiting_page(
    request, prop: Property, *, is_admin: bool, write_key: str = "", read_key: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "property": prop,
        "is_admin": is_admin,
        "beacon_src": request.build_absolute_uri(reverse("beacon")),
        "snippet_key": write_key,
        "read_key": read_key,
        "poll_seconds": FIRST_EVENT_POLL_SECONDS,
    }
    return render(request, "properties/property_waiting.html", context, status=status)


@require_safe
@login_required
@never_cache
def property_waiting(request, property_id: str):
    """The beacon snippet and "waiting for the first event"; once the property has one, its dashboard."""
    prop = property_access(actor=request.user, public_id=property_id)
    if hooks.property_has_events(property=prop):
        return redirect("property-dashboard", prop.public_id)
    return waiting_page(request, prop, is_admin=member_is_admin(request.user, prop))


@require_safe
@login_required
@never_cache
def property_first_event(request, property_id: str):
    """What the waiting page polls: 204 (nothing to swap) until the first event is stored, then a link to
    the dashboard, which htmx follows at once (HX-Redirect)."""
    prop = property_access(actor=request.user, public_id=property_id)
    if not hooks.property_has_events(property=prop):
        return HttpResponse(status=204)
    dashboard = reverse("property-dashboard", args=[prop.public_id])
    response = render(request, "properties/_first_event.html", {"dashboard_url": dashboard})
    response["HX-Redirect"] = dashboard
    return response


# --- Settings: the property and the beacon snippet, and the sections the apps above add ---------


def settings_url(prop: Property, section: str = "") -> str:
    return reverse("property-settings", args=[prop.public_id]) + (f"#{section}" if section else "")


@dataclass(frozen=True)
class NewSecret:
    """A key or link just created, shown once in the answer to the POST that made it."""

    title: str
    secret: str
    note: str = ""


def settings_page(
    request,
    prop: Property,
    *,
    settings_form: PropertySettingsForm | None = None,
    new_secret: NewSecret | None = None,
    snippet_key: str = "",
    status: int = 200,
    **section_forms,
) -> HttpResponse:
    """The settings page; `section_forms` are bound forms of the sections, by their names there."""
    is_admin = member_is_admin(request.user, prop)
    context = {
        "property": prop,
        "is_admin": is_admin,
        "settings_form": settings_form or PropertySettingsForm.of_property(prop, read_only=not is_admin),
        "beacon_src": request.build_absolute_uri(reverse("beacon")),
        "snippet_key": snippet_key,
        "new_secret": new_secret,
        "sections": [],
    }
    if is_admin:
        for section in hooks.settings_sections:
            context.update(section.context(property=prop))
            context["sections"].append(section.template)
        context.update(section_forms)
    return render(request, "properties/property_settings.html", context, status=status)


def _validation_errors_add(form, error: ValidationError, *, renamed: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: each error on its field (`renamed`: the form's name for a
    property field), else above the form."""
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            field = (renamed or {}).get(field, field)
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        # property_update raises a bare ValidationError only for an origin it cannot read.
        form.add_error("allowed_origins", error)


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def property_settings(request, property_id: str):
    """Viewers read a property's settings and beacon snippet; admins change them."""
    if request.method != "POST":
        return settings_page(request, property_access(actor=request.user, public_id=property_id))
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = PropertySettingsForm(request.POST)
    if form.is_valid():
        try:
            property_update(property=prop, **form.cleaned_data)
        except ValidationError as error:
            prop.refresh_from_db()
            _validation_errors_add(form, error)
        else:
            messages.success(request, "Settings saved.")
            return redirect(settings_url(prop))
    return settings_page(request, prop, settings_form=form, status=400)
