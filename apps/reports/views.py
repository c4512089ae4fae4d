"""The team's pages: the property list, a property's dashboard and settings (keys and shared links),
and the public, read-only dashboard behind a shared link.

Every page works without JavaScript. Pages that show a secret (a new key, a new shared link)
render it in the answer to the POST that created it, never store it, and are not cached.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.defaults import page_not_found

from apps.accounts.models import ROLE_RANK, Role
from apps.accounts.selectors import organizations_of_user
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_access, api_keys_of_property, property_access
from apps.keys.services import api_key_create, api_key_revoke, api_key_rotate
from apps.properties.models import Property
from apps.properties.selectors import properties_of_user
from apps.properties.services import property_update
from apps.reports.filters import (
    FILTER_PREFIX,
    filter_chips,
    filters_from_params,
    hidden_inputs,
    query_with,
    range_query,
)
from apps.reports.forms import ApiKeyCreateForm, PropertySettingsForm, SharedLinkCreateForm, SharedLinkPasswordForm
from apps.reports.page_selectors import (
    dashboard_overview,
    property_visitor_trend,
    shared_link_access,
    shared_link_resolve,
    shared_links_of_property,
)
from apps.reports.periods import DEFAULT_RANGE, RANGES, PeriodError, period_from_params, period_named, property_today
from apps.reports.services import shared_link_create, shared_link_revoke, shared_link_unlock
from config.api import ApplicationError
from config.lockout import client_address

# Where a shared page remembers, for this browser, the protected links whose password it was given.
SHARED_LINKS_UNLOCKED = "shared_links_unlocked"
SPARKLINE_WIDTH, SPARKLINE_HEIGHT, SPARKLINE_PAD = 120, 32, 2


# --- The property list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PropertyRow:
    property: Property
    visitors: int
    daily: list[tuple]
    sparkline_points: str


def sparkline_points(values: list[int]) -> str:
    """The `points` of an SVG polyline drawing `values` left to right, the highest at the top."""
    top = max(values, default=0) or 1
    step = (SPARKLINE_WIDTH - 2 * SPARKLINE_PAD) / max(len(values) - 1, 1)
    height = SPARKLINE_HEIGHT - 2 * SPARKLINE_PAD
    return " ".join(
        f"{SPARKLINE_PAD + index * step:.1f},{SPARKLINE_PAD + height * (1 - value / top):.1f}"
        for index, value in enumerate(values)
    )


@require_safe
@login_required
def property_list(request):
    """Each organisation's properties with their unique visitors over the last 7 days (their own
    days) and a sparkline drawn on the server: two queries per property, two more for the list."""
    organizations = list(organizations_of_user(user=request.user))
    rows = defaultdict(list)
    for prop in properties_of_user(user=request.user, organizations=organizations):
        trend = property_visitor_trend(property=prop, period=period_named("7d", today=property_today(prop)))
        rows[prop.organization_id].append(
            PropertyRow(prop, trend.total, trend.daily, sparkline_points([value for _, value in trend.daily]))
        )
    context = {
        "organizations": [(organization, rows[organization.pk]) for organization in organizations],
        "sparkline": {"width": SPARKLINE_WIDTH, "height": SPARKLINE_HEIGHT},
    }
    return render(request, "reports/property_list.html", context)


# --- The dashboard --------------------------------------------------------------------------------


@require_safe
@login_required
def property_dashboard(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id)
    return dashboard_page(request, prop, base_url=reverse("property-dashboard", args=[prop.public_id]), shared=False)


def dashboard_page(request, prop: Property, *, base_url: str, shared: bool) -> HttpResponse:
    """Render `prop`'s dashboard for the period and filters in the URL.

    `base_url` is the page's own path (a member's dashboard or a shared link), which forms submit
    to; links are query strings relative to it. A shared page (`shared`) shows the numbers only:
    no settings, no other properties, no organisation. A bad custom range is explained on the page,
    which then shows the default range with a 400.
    """
    params = request.GET
    today = property_today(prop)
    status, period_error = 200, None
    try:
        period = period_from_params(params, today=today)
    except PeriodError as error:
        status, period_error = 400, error
        period = period_named(DEFAULT_RANGE, today=today)
    filters = filters_from_params(params)
    custom_values = {
        "from": params.get("from") or period.date_from.isoformat(),
        "to": params.get("to") or period.date_to.isoformat(),
    }
    context = {
        "layout": "reports/shared_base.html" if shared else "base.html",
        "shared": shared,
        "property": prop,
        "base_url": base_url,
        "period": period,
        "previous_period": period.previous(),
        "period_error": period_error,
        "period_links": [
            {"label": label, "query": range_query(params, name), "current": name == period.range and not period_error}
            for name, label in RANGES.items()
            if name != "custom"
        ],
        "custom_values": custom_values,
        "custom_current": period.range == "custom",
        "custom_hidden": hidden_inputs(params, exclude={"range", "from", "to"}),
        "filters": filters,
        "chips": filter_chips(params),
        "clear_filters_query": query_with(params, **dict.fromkeys((FILTER_PREFIX + name for name in filters), None)),
        "cards": dashboard_overview(property=prop, period=period, filters=filters),
    }
    return render(request, "reports/dashboard.html", context, status=status)


# --- Settings: the property, the beacon snippet, keys and shared links (admins change) --------------


def _settings_url(prop: Property, section: str = "") -> str:
    return reverse("property-settings", args=[prop.public_id]) + (f"#{section}" if section else "")


def _is_admin(user, prop: Property) -> bool:
    """Whether the user may change `prop`: the role the property door found (`tenant_role`)."""
    return user.is_superuser or ROLE_RANK.get(prop.tenant_role, -1) >= ROLE_RANK[Role.ADMIN]


@dataclass(frozen=True)
class NewSecret:
    """A key or link just created, shown once in the answer to the POST that made it."""

    title: str
    secret: str
    note: str = ""


def _settings_page(
    request,
    prop: Property,
    *,
    settings_form: PropertySettingsForm | None = None,
    key_form: ApiKeyCreateForm | None = None,
    link_form: SharedLinkCreateForm | None = None,
    new_secret: NewSecret | None = None,
    snippet_key: str = "",
    status: int = 200,
) -> HttpResponse:
    is_admin = _is_admin(request.user, prop)
    now = timezone.now()
    context = {
        "property": prop,
        "is_admin": is_admin,
        "settings_form": settings_form or PropertySettingsForm.of_property(prop, read_only=not is_admin),
        "beacon_src": request.build_absolute_uri(reverse("beacon")),
        "snippet_key": snippet_key,
        "new_secret": new_secret,
        "rotation_grace_hours": settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS,
    }
    if is_admin:
        context.update(
            keys=[(api_key, api_key.status(now)) for api_key in api_keys_of_property(property=prop)],
            key_form=key_form or ApiKeyCreateForm(),
            shared_links=list(shared_links_of_property(property=prop)),
            link_form=link_form or SharedLinkCreateForm(),
        )
    return render(request, "reports/property_settings.html", context, status=status)


def _validation_errors_add(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
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
        return _settings_page(request, property_access(actor=request.user, public_id=property_id))
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
            return redirect(_settings_url(prop))
    return _settings_page(request, prop, settings_form=form, status=400)


@require_POST
@login_required
@never_cache
def property_snippet_key_create(request, property_id: str):
    """Create a write key and show the beacon snippet with it filled in, once."""
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key, secret = api_key_create(property=prop, kind=ApiKey.Kind.WRITE, name="beacon snippet")
    new_secret = NewSecret(f"New write key {api_key.prefix}…, filled into the snippet below", secret)
    return _settings_page(request, prop, new_secret=new_secret, snippet_key=secret)


@require_POST
@login_required
@never_cache
def property_key_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, prop, key_form=form, status=400)
    api_key, secret = api_key_create(property=prop, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"])
    new_secret = NewSecret(f"New {api_key.get_kind_display().lower()} key", secret)
    return _settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if api_key.kind == ApiKey.Kind.WRITE else ""
    )


@require_POST
@login_required
def property_key_revoke(request, property_id: str, key_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key = api_key_access(property=prop, key_id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked {api_key.prefix}…: it stops working within a second.")
    return redirect(_settings_url(prop, "keys"))


@require_POST
@login_required
@never_cache
def property_key_rotate(request, property_id: str, key_id: int):
    """Replace a key; the old one keeps working for the rotation grace period, and the page says until when."""
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key = api_key_access(property=prop, key_id=key_id)
    try:
        new_key, secret = api_key_rotate(api_key=api_key)
    except ApplicationError as refusal:
        messages.error(request, f"{api_key.prefix}…: {refusal.message}")
        return redirect(_settings_url(prop, "keys"))
    api_key.refresh_from_db(fields=["expires_at"])
    new_secret = NewSecret(
        f"New {new_key.get_kind_display().lower()} key replacing {api_key.prefix}…",
        secret,
        note=f"The old key {api_key.prefix}… keeps working until {api_key.expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return _settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if new_key.kind == ApiKey.Kind.WRITE else ""
    )


@require_POST
@login_required
@never_cache
def property_shared_link_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = SharedLinkCreateForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, prop, link_form=form, status=400)
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
    return _settings_page(request, prop, new_secret=new_secret)


@require_POST
@login_required
def property_shared_link_revoke(request, property_id: str, shared_link_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    shared_link = shared_link_access(property=prop, shared_link_id=shared_link_id)
    shared_link_revoke(shared_link=shared_link)
    messages.success(request, f"Revoked the shared link “{shared_link.name}” ({shared_link.prefix}…).")
    return redirect(_settings_url(prop, "shared-links"))


# --- The public, read-only dashboard of a shared link ---------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
def shared_dashboard(request, token: str):
    """A property's dashboard for anyone with the link (and its password, if it has one).

    An unknown or revoked link is a 404. Search engines are asked not to index it, and no other
    site learns the link from the Referer header.
    """
    response = _shared_dashboard(request, token)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _shared_dashboard(request, token: str) -> HttpResponse:
    shared_link = shared_link_resolve(token)
    if shared_link is None:
        return page_not_found(request, Http404())
    unlocked = not shared_link.has_password() or shared_link.pk in request.session.get(SHARED_LINKS_UNLOCKED, [])
    if not unlocked:
        return _shared_password_page(request, shared_link)
    if request.method == "POST":
        return redirect(request.get_full_path())
    return dashboard_page(request, shared_link.property, base_url=request.path, shared=True)


def _shared_password_page(request, shared_link) -> HttpResponse:
    form = SharedLinkPasswordForm(request.POST if request.method == "POST" else None)
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
