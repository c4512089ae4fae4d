"""Dashboard filters in the URL, combinable, so a filtered view can be bookmarked and shared; and the
links that add or remove one while keeping the range and everything else.

A filter is one parameter: `f_<dimension>=value` keeps what has the value (`f_country=FR`), and
`f_<dimension>.<operator>=value` applies another operator (`f_path.contains=/blog`,
`f_country.is_not=FR`, `f_path.contains_not=/admin`). The dimension is any filterable one, a
custom property of the events' data, `props:<key>` (`f_props:plan=pro`), or a trait of the events'
user, `trait:<key>` (`f_trait:plan=pro`, the engine's `user:props:plan`). An empty value stands for
a blank dimension.

Links are query strings only (`?range=7d&f_country=FR`): relative to the page they are on, they
work the same on a member's dashboard and on a shared one.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import QueryDict

from apps.reports.queries.query import CONTAINS, CONTAINS_NOT, IS, IS_NOT, MAX_VALUE_LENGTH, Condition
from apps.reports.queries.vocabulary import PROPS_PREFIX, USER_PROPS_PREFIX, Dimension, dimension_lookup
from apps.reports.selectors import QUERY_DIMENSIONS

FILTER_PREFIX = "f_"
# A custom property of the events' data, and a trait of their user, as a filter's dimension:
# props:<key> and trait:<key>, with their engine dimensions' prefixes and the names on the page.
PROPS = "props:"
TRAIT = "trait:"
KEYED = {PROPS: (PROPS_PREFIX, "Property"), TRAIT: (USER_PROPS_PREFIX, "Trait")}
OPERATOR_LABELS = {IS: "is", IS_NOT: "is not", CONTAINS: "contains", CONTAINS_NOT: "does not contain"}
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
    "goal": "Goal",
}
# What a blank dimension value (no referrer, unknown country...) is called on the page.
NONE_LABEL = "(none)"


class FilterError(ValueError):
    """A filter a form asked for that cannot be applied; the message says why."""


@dataclass(frozen=True)
class DashboardFilter:
    """`dimension` (a FILTERABLE name or props:<key>) `operator` `value`, as one URL parameter."""

    dimension: str
    operator: str
    value: str

    @property
    def parameter(self) -> str:
        return FILTER_PREFIX + self.dimension + ("" if self.operator == IS else "." + self.operator)

    @property
    def condition(self) -> Condition:
        """The filter as the query engine's condition."""
        found = _engine_dimension(self.dimension)
        assert found is not None  # filter_parsed checked the dimension
        return Condition(self.operator, found, (self.value,))

    @property
    def label(self) -> str:
        for prefix, (_, name) in KEYED.items():
            if self.dimension.startswith(prefix):
                return f"{name} “{self.dimension.removeprefix(prefix)}”"
        return DIMENSION_LABELS[self.dimension]

    @property
    def operator_label(self) -> str:
        return OPERATOR_LABELS[self.operator]

    @property
    def value_label(self) -> str:
        return self.value or NONE_LABEL


@dataclass(frozen=True)
class FilterChip:
    filter: DashboardFilter
    remove_query: str


def _engine_dimension(dimension: str) -> Dimension | None:
    """The query engine's dimension a filter's `dimension` names, or None if it names none."""
    for prefix, (engine_prefix, _) in KEYED.items():
        if dimension.startswith(prefix):
            return dimension_lookup(engine_prefix + dimension.removeprefix(prefix))
    return QUERY_DIMENSIONS.get(dimension)


def filter_parsed(dimension: str, operator: str, value: str) -> DashboardFilter:
    """The filter `dimension` `operator` `value`, checked; FilterError says what is wrong."""
    if operator not in OPERATOR_LABELS:
        raise FilterError(f"There is no filter operator “{operator}”: choose one of {', '.join(OPERATOR_LABELS)}.")
    if _engine_dimension(dimension) is None:
        if dimension.startswith(PROPS):
            raise FilterError("A custom property's name is 1 to 128 characters.")
        if dimension.startswith(TRAIT):
            raise FilterError("A trait's name is 1 to 128 characters.")
        raise FilterError(f"There is no dimension “{dimension}” to filter by.")
    if len(value) > MAX_VALUE_LENGTH or "\x00" in value:
        raise FilterError(f"A filter's value is at most {MAX_VALUE_LENGTH} characters.")
    if not value and operator in (CONTAINS, CONTAINS_NOT):
        raise FilterError("Say what the value should contain.")
    return DashboardFilter(dimension, operator, value)


# The dashboard's "Add a filter" form: the dimension (or PROPS for a custom property, TRAIT for a
# user's trait, named by filter_property), the operator and the value.
FILTER_FORM_FIELDS = ("filter_dimension", "filter_property", "filter_operator", "filter_value")


def filter_from_form(params: Mapping[str, str]) -> DashboardFilter:
    """The filter the dashboard's form asks for (FILTER_FORM_FIELDS); FilterError says what is wrong."""
    dimension, key, operator, value = (params.get(name, "") for name in FILTER_FORM_FIELDS)
    if dimension in KEYED:
        dimension += key.strip()
    return filter_parsed(dimension, operator, value)


def filters_from_params(params: Mapping[str, str]) -> tuple[DashboardFilter, ...]:
    """The filters a URL asks for, in the order of its parameters; parameters that are no filter
    (an unknown dimension or operator) are ignored."""
    found = []
    for name in params:
        if not name.startswith(FILTER_PREFIX):
            continue
        dimension, _, operator = name.removeprefix(FILTER_PREFIX).partition(".")
        try:
            found.append(filter_parsed(dimension, operator or IS, params[name]))
        except FilterError:
            continue
    return tuple(found)


def query_with(params: QueryDict, **changes: str | None) -> str:
    """`params` as a query string (with its `?`) after setting each change, or removing it if None."""
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return "?" + query.urlencode() if query else "?"


def filter_add_query(params: QueryDict, added: DashboardFilter) -> str:
    """The query that also applies `added`, replacing the filter of its dimension and operator."""
    return query_with(params, **{added.parameter: added.value})


def filter_remove_query(params: QueryDict, removed: DashboardFilter) -> str:
    """The query without `removed`, everything else kept."""
    return query_with(params, **{removed.parameter: None})


def filters_cleared_query(params: QueryDict) -> str:
    """The query without any filter."""
    return query_with(params, **dict.fromkeys((f.parameter for f in filters_from_params(params)), None))


def range_query(params: QueryDict, range_name: str) -> str:
    """The query for a named range: the filters and other choices kept, custom dates dropped."""
    return query_with(params, range=range_name, **{"from": None, "to": None})


def filter_chips(params: QueryDict) -> list[FilterChip]:
    """One removable chip per active filter, in the order of the URL."""
    return [FilterChip(found, filter_remove_query(params, found)) for found in filters_from_params(params)]


def hidden_inputs(params: QueryDict, *, exclude: set[str]) -> list[tuple[str, str]]:
    """The (name, value) pairs a GET form must resend to keep the rest of the URL."""
    return [(name, value) for name, values in params.lists() if name not in exclude for value in values]
