"""A property's keys on its settings page: the section that lists them (registered in
KeysConfig.ready()), and creating, revoking and rotating one; a write key made for the beacon snippet."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.api import ApplicationError
from apps.core.tenancy import Role
from apps.keys.forms import ApiKeyCreateForm
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_access, api_keys_of_property
from apps.keys.services import api_key_create, api_key_revoke, api_key_rotate
from apps.properties.models import Property
from apps.properties.selectors import property_access
from apps.properties.views import NewSecret, settings_page, settings_url, waiting_page


def keys_settings_context(*, property: Property) -> dict:
    """The keys section of the settings page: the property's keys with their status, and a new key's form."""
    now = timezone.now()
    return {
        "keys": [(api_key, api_key.status(now)) for api_key in api_keys_of_property(property=property)],
        "key_form": ApiKeyCreateForm(),
        "rotation_grace_hours": settings.CLICKMETER_KEY_ROTATION_GRACE_HOURS,
    }


@require_POST
@login_required
@never_cache
def property_snippet_key_create(request, property_id: str):
    """Create a write key and show the beacon snippet with it filled in, once: on the settings page, or
    on the waiting page it was asked from (`then=waiting`)."""
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key, secret = api_key_create(property=prop, kind=ApiKey.Kind.WRITE, name="beacon snippet")
    if request.POST.get("then") == "waiting":
        return waiting_page(request, prop, is_admin=True, write_key=secret)
    new_secret = NewSecret(f"New write key {api_key.prefix}…, filled into the snippet below", secret)
    return settings_page(request, prop, new_secret=new_secret, snippet_key=secret)


@require_POST
@login_required
@never_cache
def property_key_create(request, property_id: str):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return settings_page(request, prop, key_form=form, status=400)
    api_key, secret = api_key_create(property=prop, kind=form.cleaned_data["kind"], name=form.cleaned_data["name"])
    new_secret = NewSecret(f"New {api_key.get_kind_display().lower()} key", secret)
    return settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if api_key.kind == ApiKey.Kind.WRITE else ""
    )


@require_POST
@login_required
def property_key_revoke(request, property_id: str, key_id: int):
    prop = property_access(actor=request.user, public_id=property_id, role=Role.ADMIN)
    api_key = api_key_access(property=prop, key_id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked {api_key.prefix}…: it stops working within a second.")
    return redirect(settings_url(prop, "keys"))


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
        return redirect(settings_url(prop, "keys"))
    api_key.refresh_from_db(fields=["expires_at"])
    new_secret = NewSecret(
        f"New {new_key.get_kind_display().lower()} key replacing {api_key.prefix}…",
        secret,
        note=f"The old key {api_key.prefix}… keeps working until {api_key.expires_at:%Y-%m-%d %H:%M} UTC.",
    )
    return settings_page(
        request, prop, new_secret=new_secret, snippet_key=secret if new_key.kind == ApiKey.Kind.WRITE else ""
    )
