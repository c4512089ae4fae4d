"""Template helpers for the dashboard: links that filter by a value, and number formats."""

from django import template

from apps.reports.filters import filter_add_query

register = template.Library()


@register.simple_tag(takes_context=True)
def filter_url(context, dimension: str, value) -> str:
    """The query string of the current page also filtered by `dimension` = `value` (None: blank)."""
    return filter_add_query(context["request"].GET, dimension, value)


@register.filter
def thousands(value) -> str:
    """1234567 as 1,234,567."""
    return f"{value:,}"


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
