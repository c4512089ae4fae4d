"""Who is asking: the client's address, believed only as far as our own proxies wrote it."""

import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac


def client_ip(meta: Mapping[str, Any], *, trusted_proxies: int) -> str:
    """Return the client's address, believing X-Forwarded-For only as far as our own proxies wrote it.

    With N trusted proxies the last N addresses of the chain (REMOTE_ADDR being the nearest proxy)
    are ours; the one before them is the client. Anything a client wrote further left is ignored.
    """
    remote: str = meta.get("REMOTE_ADDR", "")
    if trusted_proxies <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    chain = [*forwarded, remote]
    candidate = chain[-(trusted_proxies + 1)] if len(chain) > trusted_proxies else chain[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def client_address(request: HttpRequest) -> str:
    """Return a keyed hash of the client's address, so no raw IP reaches a cache or the logs."""
    address = client_ip(request.META, trusted_proxies=settings.CLICKMETER_TRUSTED_PROXIES)
    return salted_hmac("clickmeter.lockout", address).hexdigest()[:32]
