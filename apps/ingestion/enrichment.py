"""Enrichment done in the web process, where the client's address is known.

The raw IP address is used here and then dropped: only what is derived from it (country, region,
city, and the daily visitor hash) is queued or stored.
"""

import hashlib
import hmac
import logging
import re
import secrets
from datetime import date
from functools import cache, lru_cache

import crawleruseragents
import geoip2.database
import geoip2.errors
import ua_parser
from django.conf import settings
from django.db import IntegrityError, transaction

from apps.ingestion.identity import COOKIELESS_PREFIX
from apps.ingestion.models import DailySalt

logger = logging.getLogger(__name__)

# Automation that the crawler list does not name because it borrows a real browser's user agent.
HEADLESS_MARKERS = re.compile(r"HeadlessChrome|PhantomJS|Lighthouse|Puppeteer|Playwright|Selenium|webdriver", re.I)


@lru_cache(maxsize=8192)
def is_bot(user_agent: str) -> bool:
    """True for an empty user agent, a known crawler, or a headless or automated browser."""
    if not user_agent.strip():
        return True
    return bool(HEADLESS_MARKERS.search(user_agent)) or crawleruseragents.is_crawler(user_agent)


@cache
def _geoip_reader() -> geoip2.database.Reader | None:
    path = settings.CLICKMETER_GEOIP_PATH
    if not path:
        logger.warning("CLICKMETER_GEOIP_PATH is not set: events get no country, region or city")
        return None
    try:
        return geoip2.database.Reader(path)
    except (OSError, ValueError) as exc:
        logger.warning("cannot open the GeoIP database %s (%s): events get no country, region or city", path, exc)
        return None


def geo_lookup(ip: str) -> dict[str, str]:
    """Country (ISO code), region (ISO subdivision code) and city of an address; blanks when unknown."""
    reader = _geoip_reader()
    empty = {"country": "", "region": "", "city": ""}
    if reader is None or not ip:
        return empty
    try:
        found = reader.city(ip)
    except (geoip2.errors.AddressNotFoundError, ValueError):
        return empty
    subdivision = found.subdivisions.most_specific
    return {
        "country": found.country.iso_code or "",
        "region": f"{found.country.iso_code}-{subdivision.iso_code}" if subdivision.iso_code else "",
        "city": (found.city.name or "")[:128],
    }


_salts: dict[date, bytes] = {}


def daily_salt(day: date) -> bytes:
    """The random salt of one UTC day, created on first use and shared by every process."""
    salt = _salts.get(day)
    if salt is None:
        try:
            with transaction.atomic():
                stored = DailySalt.objects.get_or_create(day=day, defaults={"salt": secrets.token_bytes(32)})[0].salt
        except IntegrityError:  # another process created it first
            stored = DailySalt.objects.get(day=day).salt
        salt = bytes(stored)
        _salts.clear()
        _salts[day] = salt
    return salt


def address_id(*, day: date, ip: str) -> str:
    """A stand-in for the address in rate-limit counters: unlinkable to it once the salt is gone."""
    return hmac.new(daily_salt(day), b"address\x1f" + ip.encode(), hashlib.sha256).hexdigest()[:20]


def visitor_hash(*, day: date, property_public_id: str, ip: str, user_agent: str) -> str:
    """The cookieless visitor id: HMAC-SHA256(the day's salt, property + address + user agent).

    The salt is destroyed once its day is over, after which nobody (us included) can link the id back to
    an address or to the same visitor's id on another day.
    """
    message = "\x1f".join((property_public_id, ip, user_agent)).encode()
    return COOKIELESS_PREFIX + hmac.new(daily_salt(day), message, hashlib.sha256).hexdigest()[:32]


@lru_cache(maxsize=8192)
def user_agent_parse(user_agent: str) -> dict[str, str]:
    """Browser, OS (with major versions) and device type of a user agent; cached per string."""
    parsed = ua_parser.parse(user_agent)
    browser, os, device = parsed.user_agent, parsed.os, parsed.device
    return {
        "browser": (browser.family if browser else "")[:64],
        "browser_version": ((browser.major or "") if browser else "")[:16],
        "os": (os.family if os else "")[:64],
        "os_version": ((os.major or "") if os else "")[:16],
        "device": _device_type(user_agent, os.family if os else "", device.family if device else ""),
    }


def _device_type(user_agent: str, os_family: str, device_family: str) -> str:
    if device_family == "Spider" or is_bot(user_agent):
        return "bot"
    if device_family == "iPad" or "Tablet" in user_agent or (os_family == "Android" and "Mobile" not in user_agent):
        return "tablet"
    if os_family in ("iOS", "Android") or "Mobi" in user_agent:
        return "mobile"
    if os_family in ("Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "FreeBSD"):
        return "desktop"
    return "other"
