"""Plausible's trackers: `POST /api/event` as its script, its npm package and its Events API send it.

One event per request, with short field names (the script's) or long ones (the Events API's):
`n`/`name`, `u`/`url`, `d`/`domain` (one site or several, comma-separated), `r`/`referrer`,
`p`/`props` (an object, or its JSON text), `$`/`revenue` (`{amount, currency}`), `h`/`hashMode`
(1: the page is the URL's path and its #fragment). Plausible's `engagement` events (time on page
and scroll depth) are answered but not stored: they are not something a visitor did.
"""

from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

import orjson

from apps.core.api import ApplicationError
from apps.ingestion.peers import object_field, text_field
from apps.ingestion.schema import CURRENCY_KEY, REVENUE_KEY

ENGAGEMENT = "engagement"
MAX_DOMAINS = 10


def _either(body: dict, short: str, long: str):
    return body[short] if body.get(short) is not None else body.get(long)


def plausible_event_parse(body: dict) -> tuple[list[str], list[dict]]:
    """The site domains a Plausible request names, and its event in the envelope's shape (none for
    an engagement event); a 400 naming the field for a request Plausible would refuse too."""
    fields = {
        "name": _either(body, "n", "name"),
        "url": _either(body, "u", "url"),
        "domain": _either(body, "d", "domain"),
        "referrer": _either(body, "r", "referrer"),
        "props": _either(body, "p", "props"),
        "revenue": _either(body, "$", "revenue"),
    }
    name, url, domain = (text_field(fields, key) for key in ("name", "url", "domain"))
    if not name:
        raise ApplicationError("missing_field", "name (n) is required: 'pageview' or an event name.", field="name")
    if not url:
        raise ApplicationError("missing_field", "url (u) is required: the page's address.", field="url")
    domains = [part.strip() for part in domain.split(",") if part.strip()]
    if not domains:
        raise ApplicationError("missing_field", "domain (d) is required: the site as set up here.", field="domain")
    if len(domains) > MAX_DOMAINS:
        raise ApplicationError("invalid_field", f"domain names at most {MAX_DOMAINS} sites.", field="domain")
    if name == ENGAGEMENT:
        return domains, []
    page = {"url": url, "referrer": text_field(fields, "referrer")}
    if _either(body, "h", "hashMode"):
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ApplicationError("invalid_field", "url (u) is not a valid URL.", field="url") from None
        page["path"] = (parts.path or "/") + (f"#{parts.fragment}" if parts.fragment else "")
    return domains, [{"type": name, "context": {"page": page}, "data": _data(fields)}]


def _data(fields: dict) -> dict:
    props = fields["props"]
    if isinstance(props, str):
        try:
            props = orjson.loads(props)
        except orjson.JSONDecodeError:
            raise ApplicationError("invalid_field", "props (p) must be an object or its JSON.", field="props") from None
    data = dict(object_field({"props": props}, "props"))
    revenue = object_field(fields, "revenue")
    if revenue:
        amount, currency = text_field(revenue, "amount"), text_field(revenue, "currency")
        try:
            amount = amount if Decimal(amount).is_finite() else ""
        except InvalidOperation:
            amount = ""
        if not amount or not currency:
            raise ApplicationError(
                "invalid_field",
                "revenue ($) needs a numeric amount and a currency.",
                field="revenue",
            )
        data[REVENUE_KEY], data[CURRENCY_KEY] = revenue["amount"], currency.upper()
    return data
