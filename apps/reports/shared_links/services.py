"""Writes of shared links: create, revoke, and the password check of a protected one."""

import secrets

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from apps.accounts.models import User
from apps.core.api import ApplicationError
from apps.core.throttle import budget_restore, budget_spend, budget_spent
from apps.keys.services import VISIBLE_CHARS, api_key_hash
from apps.properties.models import Property
from apps.reports.models import SharedLink

SHARED_LINK_PREFIX = "sl_"


def shared_link_create(
    *, property: Property, name: str, password: str | None = None, created_by: User | None = None
) -> tuple[SharedLink, str]:
    """Create a read-only public link to a property's dashboard; return it with its token (192
    random bits), which only this answer ever shows. A password, if given, is stored hashed."""
    token = SHARED_LINK_PREFIX + secrets.token_urlsafe(24)
    shared_link = SharedLink(
        property=property,
        name=name,
        prefix=token[: len(SHARED_LINK_PREFIX) + VISIBLE_CHARS],
        token_hash=api_key_hash(token),
        password_hash=make_password(password) if password else "",
        created_by=created_by,
    )
    shared_link.full_clean()
    shared_link.save()
    return shared_link, token


def shared_link_revoke(*, shared_link: SharedLink) -> None:
    """Revoke a shared link: it answers 404 from the next request on, password or not."""
    SharedLink.unscoped.filter(pk=shared_link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def shared_link_unlock(*, shared_link: SharedLink, password: str, client: str) -> bool:
    """Check a visitor's password for a protected link; return whether it matches.

    Wrong passwords are a budget per link and `client` (a keyed hash of the address), like failed
    sign-ins: after CLICKMETER_LOGIN_FAILURE_LIMIT of them the client is refused for the cool-off
    period (ApplicationError `locked_out`, 429), right password or not.
    """
    budget = {
        "key": f"budget:shared-link-password:{shared_link.pk}:{client}",
        "limit": settings.AXES_FAILURE_LIMIT,
        "seconds": int(settings.AXES_COOLOFF_TIME.total_seconds()),
    }
    wait = budget_spent(**budget)
    if wait is not None:
        raise ApplicationError(
            "locked_out",
            f"Too many wrong passwords for this link from this address; try again in {-(-wait // 60)} minutes.",
            status_code=429,
            retry_after=wait,
        )
    if shared_link.password_matches(password):
        budget_restore(budget["key"], seconds=budget["seconds"])
        return True
    budget_spend(**budget)
    return False
