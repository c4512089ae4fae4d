"""Dashboard filters in the URL: `f_<dimension>=value` for any filterable dimension, combinable, so a
filtered view can be bookmarked and shared; and the links that add or remove one while keeping the
range and everything else.

Links are query strings only (`?range=7d&f_country=FR`): relative to the page they are on, they
work the same on a member's dashboard and on a shared one.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import QueryDict

from apps.reports.selectors import FILTERABLE

FILTER_PREFIX = "f_"
DIMENSION_LABELS = {
    "type": "Event",
    "hostname": "Hostname",
    "path": "Page",
    "campaign_id": "Campaign",
    "source": "Source",
    "referrer": "Referrer",
    "channel": "Channel",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "utm_term": "UTM term",
    "utm_content": "UTM content",
    "country": "Country",
    "region": "Region",
    "city": "City",
    "browser": "Browser",
    "os": "Operating system",
    "device": "Device",
    "entry_page": "Entry page",
    "exit_page": "Exit page",
}
# What a blank dimension value (no referrer, unknown country...) is called on the page.
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class FilterChip:
    dimension: str
    label: str
    value: str
    remove_query: str

    @property
    def value_label(self) -> str:
        return self.value or NONE_LABEL


def dimension_label(dimension: str) -> str:
    return DIMENSION_LABELS[dimension]


def filters_from_params(params: Mapping[str, str]) -> dict[str, str]:
    """The filters a URL asks for, by dimension; unknown `f_` names are ignored. An empty value
    filters for events where the dimension is blank."""
    return {
        dimension: params[FILTER_PREFIX + dimension] for dimension in FILTERABLE if FILTER_PREFIX + dimension in params
    }


def query_with(params: QueryDict, **changes: str | None) -> str:
    """`params` as a query string (with its `?`) after setting each change, or removing it if None."""
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return "?" + query.urlencode() if query else "?"


def filter_add_query(params: QueryDict, dimension: str, value: str | None) -> str:
    """The query that also filters by `dimension` = `value` (None: blank), replacing its old value."""
    if dimension not in FILTERABLE:
        raise ValueError(f"{dimension!r} is not a filterable dimension")
    return query_with(params, **{FILTER_PREFIX + dimension: value or ""})


def filter_remove_query(params: QueryDict, dimension: str) -> str:
    """The query without the filter on `dimension`, everything else kept."""
    return query_with(params, **{FILTER_PREFIX + dimension: None})


def range_query(params: QueryDict, range_name: str) -> str:
    """The query for a named range: the filters and other choices kept, custom dates dropped."""
    return query_with(params, range=range_name, **{"from": None, "to": None})


def filter_chips(params: QueryDict) -> list[FilterChip]:
    """One removable chip per active filter, in the order of the dimensions."""
    return [
        FilterChip(dimension, dimension_label(dimension), value, filter_remove_query(params, dimension))
        for dimension, value in filters_from_params(params).items()
    ]


def hidden_inputs(params: QueryDict, *, exclude: set[str]) -> list[tuple[str, str]]:
    """The (name, value) pairs a GET form must resend to keep the rest of the URL."""
    return [(name, value) for name, values in params.lists() if name not in exclude for value in values]
