"""Template helpers for the dashboard: links that keep the rest of the URL, and number formats."""

import re
from datetime import date, datetime

from django import template

from apps.reports.dashboard import METRIC_UNITS
from apps.reports.filters import NONE_LABEL, PROPS, FilterError, filter_add_query, filter_parsed, query_with
from apps.reports.queries.query import IS

register = template.Library()
# Values of event data that filters compare as no value (docs/query.md): fractions, exponents,
# objects and arrays.
UNFILTERABLE_VALUE = re.compile(r"-?[0-9]*\.[0-9]+([eE][-+]?[0-9]+)?|-?[0-9]+[eE][-+]?[0-9]+|[\[{].*", re.DOTALL)


def _params(context):
    """The query the page's links build on: the view's `params`, else the request's."""
    return context.get("params", context["request"].GET)


@register.simple_tag(takes_context=True)
def filter_url(context, dimension: str, value) -> str:
    """The query string of the current page also filtered by `dimension` = `value` (None: blank)."""
    return filter_add_query(_params(context), filter_parsed(dimension, IS, value or ""))


@register.simple_tag(takes_context=True)
def property_filter_url(context, key: str, value: str | None) -> str:
    """The query string of the current page also filtered by the custom property `key` = `value`; ''
    for a value filters cannot compare (UNFILTERABLE_VALUE, a JSON null, one too long)."""
    if value is None or UNFILTERABLE_VALUE.fullmatch(value):
        return ""
    try:
        return filter_add_query(_params(context), filter_parsed(PROPS + key, IS, value))
    except FilterError:
        return ""


@register.simple_tag(takes_context=True)
def query_url(context, **changes) -> str:
    """The query string of the current page with `changes` (a None value removes the parameter)."""
    return query_with(_params(context), **changes)


@register.simple_tag(takes_context=True)
def page_url(context, name: str, *args) -> str:
    """The path of one of this dashboard's pages, a member's or a shared link's: {% page_url "breakdown" "pages" %}."""
    return context["urls"].url(name, *args)


@register.filter
def thousands(value) -> str:
    """1234567 as 1,234,567."""
    return f"{value:,}"


def duration(seconds) -> str:
    """Seconds as 42s, 1m 05s or 1h 02m 05s."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {seconds:02d}s"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


@register.filter
def percent(value: float) -> str:
    """42.5 as 42.5%, 40.0 as 40%."""
    return f"{value:.1f}".removesuffix(".0") + "%"


@register.filter
def metric_value(value, metric: str) -> str:
    """A metric's value as people read it: counts with thousands separators, bounce rate in per cent,
    views per session with two decimals, visit duration in minutes and seconds; a dash for none."""
    if value is None:
        return "\u2013"
    unit = METRIC_UNITS.get(metric)
    if unit == "duration":
        return duration(value)
    if unit == "percent":
        return percent(value)
    if unit == "decimal":
        return f"{value:.2f}"
    return thousands(value)


@register.filter
def signed_percent(value: float | None) -> str:
    """A change in per cent with its sign and no decimals (one below 10%): +12%, -3.5% (with a minus sign), 0%."""
    if value is None:
        return ""
    shown = f"{abs(value):.1f}" if abs(value) < 10 else f"{abs(value):,.0f}"
    shown = shown.removesuffix(".0")
    if shown == "0":
        return "0%"
    return ("+" if value > 0 else "\u2212") + shown + "%"


@register.filter
def change_tone(card: dict) -> str:
    """`good` or `bad` for a card's change (a rise is bad where lower is better), '' for none."""
    if not card["change"]:
        return ""
    return "good" if (card["change"] > 0) != card["lower_is_better"] else "bad"


@register.filter
def flag(code) -> str:
    """The flag emoji of an ISO 3166-1 alpha-2 country code; '' for anything else."""
    if not isinstance(code, str) or len(code) != 2 or not (code.isascii() and code.isalpha()):
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())


@register.filter
def dimension_value(value) -> str:
    """A breakdown row's value; a blank one (no referrer, unknown country...) as (none)."""
    return NONE_LABEL if value in (None, "") else value


@register.filter
def bucket_label(bucket, interval: str) -> str:
    """A chart bucket as people read it: 8 May 2026 13:00, Fri 8 May 2026, week of 4 May 2026, May 2026."""
    if bucket is None:
        return "\u2013"
    if interval == "hour":
        moment = datetime.fromisoformat(bucket)
        return f"{moment.day} {moment:%b %Y %H:%M}"
    day = bucket if isinstance(bucket, date) else date.fromisoformat(str(bucket))
    if interval == "week":
        return f"Week of {day.day} {day:%b %Y}"
    if interval == "month":
        return f"{day:%B %Y}"
    return f"{day:%a} {day.day} {day:%b %Y}"


@register.filter
def tenth(percentage: float) -> int:
    """The tenth of 0..100 a percentage is in, 0 to 10 (10 is 100 alone): a shade's class."""
    return min(int(percentage // 10), 10)
