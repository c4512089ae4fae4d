"""Shared links' pages: their section of the settings page (registered in ReportsConfig.ready()),
creating and revoking one, and the gate in front of the dashboard's pages for anyone with a link."""

from functools import partial, wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django.views.defaults import page_not_found

from apps.core.api import ApplicationError
from apps.core.http import client_address
from apps.core.tenancy import Role
from apps.core.throttle import address_budget
from apps.properties.models import Property
from apps.properties.selectors import property_access
from apps.properties.views import NewSecret, settings_page, settings_url
from apps.reports.shared_links.forms import SharedLinkCreateForm, SharedLinkPasswordForm
from apps.reports.shared_links.selectors import shared_link_access, shared_link_resolve, shared_links_of_property
from apps.reports.shared_links.services import shared_link_create, shared_link_revoke, shared_link_unlock
from apps.reports.views.dashboard import (
    breakdown_page,
    dashboard_page,
    error_page,
    live_events_page,
    live_fragment,
    panel_fragment,
    realtime_page,
)
from apps.reports.views.exports import export_csv
from apps.reports.views.presentation import DashboardUrls, PageError

# Where a shared page remembers, for this browser, the protected links whose password it was given.
SHARED_LINKS_UNLOCKED = "shared_links_unlocked"


def shared_links_settings_context(*, property: Property) -> dict:
    """The shared links section of the settings page: the property's links, and a new link's form."""
    return {"shared_links": list(shared_links_of_property(property=property)), "link_form": SharedLinkCreateForm()}


@login_required
@never_cache
def property_shared_link_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = SharedLinkCreateForm(request.POST)
    if not form.is_valid():
        return settings_page(request, prop, link_form=form, status=400)
    shared_link, token = shared_link_create(
        property=prop,
        name=form.cleaned_data["name"],
        password=form.cleaned_data["password"] or None,
        created_by=request.user,
    )
    new_secret = NewSecret(
        f"New shared link “{shared_link.name}”",
        request.build_absolute_uri(reverse("shared-dashboard", args=[token])),
        note="Anyone with this link can read this property's dashboard"
        + (" after entering the password." if shared_link.has_password() else "."),
    )
    return settings_page(request, prop, new_secret=new_secret)


@require_POST
@login_required
def property_shared_link_revoke(request, property_id: str, shared_link_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    shared_link = shared_link_access(property=prop, shared_link_id=shared_link_id)
    shared_link_revoke(shared_link=shared_link)
    messages.success(request, f"Revoked the shared link “{shared_link.name}” ({shared_link.prefix}…).")
    return redirect(settings_url(prop, "shared-links"))


def _shared_route(page, *, fragment: bool = False):
    """`page` for the property of the shared link in the URL, for anyone with the link.

    A protected link shows its password page in place of any page until this browser has given the
    password (a `fragment`, polled or swapped into a page, is a bare 403 instead). An unknown or
    revoked link is a 404. Search engines are asked not to index it, and no other site learns the
    link from the Referer header.
    """

    @wraps(page)
    @require_http_methods(["GET", "HEAD"] if fragment else ["GET", "HEAD", "POST"])
    @never_cache
    @address_budget("shared-link", "CLICKMETER_SHARED_LINK_RATE")
    def view(request, token: str, **kwargs):
        response = _shared_answer(request, token, partial(page, **kwargs), fragment=fragment)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    return view


def _shared_answer(request, token: str, page, *, fragment: bool) -> HttpResponse:
    shared_link = shared_link_resolve(token)
    if shared_link is None:
        return page_not_found(request, Http404())
    unlocked = not shared_link.has_password() or shared_link.pk in request.session.get(SHARED_LINKS_UNLOCKED, [])
    if not unlocked:
        return HttpResponseForbidden() if fragment else _shared_password_page(request, shared_link)
    if request.method == "POST":
        return redirect(request.get_full_path())
    urls = DashboardUrls("shared", token)
    try:
        return page(request, shared_link.property, urls=urls)
    except PageError as error:
        return error_page(request, shared_link.property, urls, error)


def _shared_password_page(request, shared_link) -> HttpResponse:
    form = SharedLinkPasswordForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any]
    context, status, retry_after = {"form": form}, 200, None
    if request.method == "POST" and form.is_valid():
        try:
            unlocked = shared_link_unlock(
                shared_link=shared_link, password=form.cleaned_data["password"], client=client_address(request)
            )
        except ApplicationError as refusal:
            context["refusal"], status, retry_after = refusal, 429, refusal.retry_after
        else:
            if unlocked:
                unlocked_ids = request.session.get(SHARED_LINKS_UNLOCKED, [])
                request.session[SHARED_LINKS_UNLOCKED] = [*unlocked_ids, shared_link.pk]
                return redirect(request.get_full_path())
            form.add_error("password", "That is not the password of this link.")
            status = 400
    response = render(request, "reports/share_password.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    # Under no-referrer a browser posts the form with `Origin: null`, which CSRF protection refuses;
    # same-origin still keeps the link from every other site.
    response["Referrer-Policy"] = "same-origin"
    return response


shared_dashboard = _shared_route(dashboard_page)
shared_breakdown = _shared_route(breakdown_page)
shared_panel = _shared_route(panel_fragment, fragment=True)
shared_export = _shared_route(export_csv)
shared_live = _shared_route(live_fragment, fragment=True)
shared_realtime = _shared_route(realtime_page)
shared_live_events = _shared_route(live_events_page, fragment=True)
