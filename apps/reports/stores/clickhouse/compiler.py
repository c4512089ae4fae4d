"""The ClickHouse store's compiler: a Query as ClickHouse SQL over its one table of raw events,
written for every release from 18.16 (no common table expressions, no window functions, a join's
subqueries aliased, no alias naming a column it is computed from) to today's.

Visits are cut from raw events when a query is answered, by the rule of the database store
(grains.visits_sql): an event carrying a campaign other than the last one its session carried starts a
new visit. Only sessions with an event that carries a campaign can split; their events are sorted
in arrays per session (time, arrival, event id) and numbered there (`_splits_sql`), and every other
event's visit is its session.

The plan is the database store's event path (stores/database/compiler.py): event metrics over the
matching events, grouped by the query's dimensions; visit metrics over the visits with a matching
event, in the group of each, at the time the visit began. The two are separate statements, merged
by group in Python.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from apps.ingestion.schema import IDENTIFY
from apps.properties.models import Property
from apps.reports.queries.query import Filter, Query, filtered_dimensions
from apps.reports.queries.visits import VISIT_ROW_COLUMNS, VisitCursor
from apps.reports.queries.vocabulary import (
    CLOCK_BUCKETS,
    EVENTS_OF_TYPE_PREFIX,
    PROPS_PREFIX,
    TIME,
    VISIT,
    VISIT_ATTRIBUTE_COLUMNS,
    Dimension,
    user_prop_column,
)
from apps.reports.stores.clickhouse.client import Client
from apps.reports.stores.clickhouse.schema import microseconds
from apps.reports.stores.database.grains import CAMPAIGN_COLUMNS
from apps.reports.stores.sql import (
    Dialect,
    Sql,
    day_read,
    fact_value,
    holds,
    identity_value,
    marks_sql,
    user_prop_keys,
)

PAGEVIEW = "type = 'pageview'"
# In arrival order: events of the same time in the order they were received, then by event id.
ARRIVAL_ORDER = "(ts, arrival, event_id)"
# A count of none is 0 (18.16 answers NULL for a Nullable column of NULLs alone).
VISITORS = "ifNull(uniqExact(visitor_key), 0)"
EVENT_METRICS = {
    "visitors": VISITORS,
    "visits": "uniqExact(day, session_key)",
    "pageviews": f"countIf({PAGEVIEW})",
    "events": "count()",
}
VISIT_METRICS = {
    "bounce_rate": "100.0 * countIf(v_pageviews = 1) / nullIf(countIf(v_pageviews > 0), 0)",
    "views_per_visit": "1.0 * sum(v_pageviews) / nullIf(countIf(v_pageviews > 0), 0)",
    # Microseconds summed exactly, divided once: the oracle's mean to the last digit.
    "visit_duration": "sum(v_last_ts - v_first_ts) / (1000000.0 * nullIf(count(), 0))",
    # vocabulary.VISIT_PARTS
    "bounces": "countIf(v_pageviews = 1)",
    "pageview_visits": "countIf(v_pageviews > 0)",
    "visit_pageviews": "sum(v_pageviews)",
    "visit_microseconds": "sum(v_last_ts - v_first_ts)",
    "visit_count": "count()",
}


class ClickHouseDialect(Dialect):
    """Fact rows name their event's columns as they are and their visit's as v_<column>."""

    def event_column(self, column: str) -> str:
        return column

    def visit_column(self, column: str) -> str:
        return f"v_{column}"

    def contains(self, column: str) -> str:
        return f"position({column}, %s) > 0"

    def matches(self, column: str) -> str:
        # RE2, as SQLite's clickmeter_matches; the safe subset means the same in both (safe_regex.py).
        return f"match({column}, %s)"

    def prop(self) -> str:
        # Written at insert as text by the database store's rule (schema.props_text); '' when absent.
        return "prop_values[indexOf(prop_keys, %s)]"

    def day(self, day: str) -> str:
        return day

    def week(self, day: str) -> str:
        return f"toMonday({day})"

    def month(self, day: str) -> str:
        return f"toStartOfMonth({day})"

    def clock(self, ts: str, bucket: str) -> str:
        start = {"minute": "toStartOfMinute", "hour": "toStartOfHour"}[bucket]
        # Its label (vocabulary.time_bucket): the local time as text.
        return f"toString({start}(toDateTime(intDiv({ts}, 1000000)), %s), %s)"

    def microseconds_between(self, first: str, last: str) -> str:
        return f"({last} - {first})"

    def starts_with(self, column: str) -> str:
        return f"position({column}, %s) = 1"

    def epoch_microseconds(self, ts: str) -> str:
        # Kept as microseconds since the epoch (schema.py).
        return ts


DIALECT = ClickHouseDialect()


# A property's events over a range of whole days; parameters: property, first and last day.
OF_RANGE = "property_id = %s AND day BETWEEN %s AND %s"


def _splits_sql(table: str) -> str:
    """(day, event_id, split_key) of each event whose visit is not its session (the key of its
    visit, as grains.visits_sql numbers them). Parameters: property, first and last day, twice."""
    campaign = f"({', '.join(CAMPAIGN_COLUMNS)})"
    carries = " OR ".join(f"{column} != ''" for column in CAMPAIGN_COLUMNS)
    blank = "(" + ", ".join(["''"] * len(CAMPAIGN_COLUMNS)) + ")"
    numbered = (
        f"SELECT day, session_key,"
        f" arraySort(t -> (t.1, t.2, t.3), groupArray((ts, arrival, event_id, {campaign}))) AS touches,"
        f" arrayFilter(i -> touches[i].4 != {blank}, arrayEnumerate(touches)) AS carrying,"
        # The k-th carrying event starts a visit unless it is the session's first event or carries
        # the campaign the carrying event before it carried.
        " arrayMap(k -> carrying[k] > 1 AND (k = 1 OR touches[carrying[k]].4 != touches[carrying[k - 1]].4),"
        " arrayEnumerate(carrying)) AS starts,"
        " arrayMap(i -> arraySum(arrayMap((p, s) -> p <= i AND s, carrying, starts)), arrayEnumerate(touches))"
        " AS visits"
        f" FROM {table} WHERE {OF_RANGE}"
        f" AND (day, session_key) IN (SELECT day, session_key FROM {table} WHERE {OF_RANGE} AND ({carries}))"
        " GROUP BY day, session_key"
    )
    return (
        "SELECT day, touch.3 AS event_id,"
        " if(session_key > 0, session_key - visit, session_key + visit) AS split_key"
        f" FROM ({numbered}) numbered ARRAY JOIN touches AS touch, visits AS visit WHERE visit > 0"
    )


def keyed_events_sql(table: str, columns: tuple[str, ...]) -> str:
    """`columns` of a property's raw events over whole days, `session_key` being the key of the
    event's visit. Parameters: property, first and last day, three times."""
    inner = ", ".join("session_key AS event_session_key" if c == "session_key" else c for c in columns)
    if "event_id" not in columns:
        inner += ", event_id"
    outer = ", ".join(
        "if(split_key = 0, event_session_key, split_key) AS session_key" if c == "session_key" else c for c in columns
    )
    return (
        f"SELECT {outer} FROM (SELECT {inner} FROM {table} WHERE {OF_RANGE}) e"
        f" ANY LEFT JOIN ({_splits_sql(table)}) splits USING (day, event_id)"
    )


VISIT_COLUMNS = (*VISIT_ATTRIBUTE_COLUMNS, "entry_path", "exit_path", "pageviews", "events", "first_ts", "last_ts")


def visits_sql(table: str) -> str:
    """One row per visit of a property's days: day, session_key and v_<column> of VISIT_COLUMNS and
    visitor_key, as grains.raw_session_rows_sql computes them. Parameters: keyed_events_sql's."""
    attributes = ", ".join(f"argMin({c}, {ARRIVAL_ORDER}) AS v_{c}" for c in VISIT_ATTRIBUTE_COLUMNS)
    events = keyed_events_sql(
        table,
        ("day", "session_key", "visitor_key", "type", "path", "ts", "arrival", "event_id", *VISIT_ATTRIBUTE_COLUMNS),
    )
    return (
        f"SELECT day, session_key, max(visitor_key) AS v_visitor_key, {attributes},"
        f" argMinIf(path, {ARRIVAL_ORDER}, {PAGEVIEW}) AS v_entry_path,"
        f" argMaxIf(path, {ARRIVAL_ORDER}, {PAGEVIEW}) AS v_exit_path,"
        f" countIf({PAGEVIEW}) AS v_pageviews, count() AS v_events, min(ts) AS v_first_ts, max(ts) AS v_last_ts"
        f" FROM ({events}) keyed GROUP BY day, session_key"
    )


@dataclass
class ClickHouseQuery:
    """A query over a property's range as one or two ClickHouse statements over its raw events."""

    prop: Property
    query: Query
    first: date
    last: date
    table: str
    client: Client
    # Filters the events read are marked by (funnel steps, a retention goal), which they must be able to test.
    marks: tuple[Filter, ...] = ()

    def rows(self) -> list[tuple]:
        width = len(self.query.dimensions)
        metrics = self.query.metrics
        found: dict[tuple, list[Any]] = {}
        for statement, names in self._statements():
            for row in self.client.execute(statement.text, statement.params):
                values = found.setdefault(tuple(row[:width]), [None] * len(metrics))
                for name, value in zip(names, row[width:], strict=True):
                    values[metrics.index(name)] = value
        if not found and not self.query.dimensions:
            found[()] = [None] * len(metrics)
        return [(*key, *values) for key, values in found.items()]

    def step_rows(self, *, in_visits: bool) -> list[tuple]:
        """EventStore.step_events, the query being base.marked_query's and the marks the steps."""
        group = self._value(self.query.dimensions[0]) if self.query.dimensions else Sql("NULL")
        visit = Sql("session_key" if in_visits else "0")
        facts = self.facts(
            [Sql("visitor_key"), Sql("day"), visit, Sql("ts"), marks_sql(self.marks, DIALECT), group], keyed=in_visits
        )
        return self.client.execute(facts.text, facts.params)

    def cohort_rows(self, period: str) -> tuple[list[tuple], int, int]:
        """EventStore.cohorts, the query being base.marked_query's and the mark the goal's."""
        identity = identity_value(DIALECT)
        completed = marks_sql(self.marks, DIALECT)
        facts = self.facts(
            [Sql(f"{identity.text} AS person", identity.params), Sql("day"),
             Sql(f"{completed.text} AS completed", completed.params), Sql("visitor_key")],
            carried=("visitor_id", "user_id_hash"), keyed=False,
        )  # fmt: skip
        bucket = {"day": DIALECT.day, "week": DIALECT.week, "month": DIALECT.month}[period]("day")
        periods = (
            f"SELECT person, {bucket} AS period, max(completed) AS done FROM ({facts.text}) m"
            " WHERE person != '' GROUP BY person, period"
        )
        cohorts = self.client.execute(
            f"SELECT cohort, period, count(), sum(done) FROM ({periods}) p"
            f" ALL INNER JOIN (SELECT person, min(period) AS cohort FROM ({periods}) f GROUP BY person) c USING person"
            " GROUP BY cohort, period",
            [*facts.params, *facts.params],
        )
        counted = self.client.execute(
            f"SELECT {VISITORS}, ifNull(uniqExactIf(visitor_key, person != ''), 0) FROM ({facts.text}) m",
            facts.params,
        )
        return [(day_read(c), day_read(p), people, done) for c, p, people, done in cohorts], *counted[0]

    def visit_rows(self, *, before: VisitCursor | None, limit: int, visit_key: int | None) -> list[tuple]:
        """EventStore.visits_page, the query being base.marked_query's: the visits of the matching events."""
        where = []
        if self.query.filters:
            facts = self.facts([Sql("day"), Sql("session_key")])
            where.append(Sql(f"(day, session_key) IN ({facts.text})", facts.params))
        if visit_key is not None:
            where.append(Sql("session_key = %s", [visit_key]))
        if before is not None:
            at, day, key = before
            where.append(
                Sql(
                    "(v_first_ts < %s OR (v_first_ts = %s AND (day < %s OR (day = %s AND session_key < %s))))",
                    [at, at, day, day, key],
                )
            )
        columns = ["day", "session_key", *(f"v_{c}" for c in VISIT_ROW_COLUMNS[2:-2]), "v_first_ts", "v_last_ts"]
        condition = f" WHERE {' AND '.join(w.text for w in where)}" if where else ""
        return self.client.execute(
            f"SELECT {', '.join(columns)} FROM ({visits_sql(self.table)}) s{condition}"
            f" ORDER BY v_first_ts DESC, day DESC, session_key DESC LIMIT {int(limit)}",
            [*self._range_params * 3, *(p for w in where for p in w.params)],
        )

    @property
    def _range_params(self) -> list[Any]:
        return [self.prop.pk, self.first, self.last]

    def _value(self, dimension: Dimension, *, visit_bucket: bool = False) -> Sql:
        if dimension.scope != TIME:
            return fact_value(dimension, DIALECT)
        if dimension.column in CLOCK_BUCKETS:
            ts = "v_first_ts" if visit_bucket else "ts"
            return Sql(DIALECT.clock(ts, dimension.column), [self.prop.timezone] * 2)
        bucket = {"day": DIALECT.day, "week": DIALECT.week, "month": DIALECT.month}[dimension.column]
        return Sql(bucket("day"))

    def facts(self, columns: list[Sql], carried: tuple[str, ...] = (), *, keyed: bool = True) -> Sql:
        """`columns` of the matching events, each joined to its visit when the query names a visit;
        `carried`: event columns they read beyond those the query names; not `keyed`: without the
        key of their visit (session_key), unless a visit is joined: no campaign splits to compute."""
        named = [*self.query.dimensions, *filtered_dimensions((*self.query.filters, *self.marks))]
        props = any(d.name.startswith(PROPS_PREFIX) for d in named)
        traits = user_prop_keys(named)
        in_visits = any(d.scope == VISIT for d in named)
        keyed = keyed or in_visits
        event_columns = dict.fromkeys(
            (
                "day",
                *(("session_key",) if keyed else ()),
                "visitor_key",
                "type",
                "path",
                "hostname",
                "ts",
                *(("prop_keys", "prop_values") if props else ()),
                *(("user_id_hash",) if traits else ()),
                *carried,
            )
        )
        if keyed:
            events = Sql(keyed_events_sql(self.table, tuple(event_columns)), self._range_params * 3)
        else:
            events = Sql(f"SELECT {', '.join(event_columns)} FROM {self.table} WHERE {OF_RANGE}", self._range_params)
        if traits:
            events = self._with_traits(events, tuple(event_columns), traits)
        source = Sql(f"({events.text}) e", events.params)
        if in_visits:
            visits = visits_sql(self.table)
            source = Sql(
                f"{source.text} ALL INNER JOIN ({visits}) s USING (day, session_key)",
                [*source.params, *self._range_params * 3],
            )
        where = [holds(f, DIALECT) for f in self.query.filters]
        window = self.query.date_range
        if window.since is not None and window.until is not None:
            where.append(Sql("ts BETWEEN %s AND %s", [microseconds(window.since), microseconds(window.until)]))
        condition = f" WHERE {' AND '.join(w.text for w in where)}" if where else ""
        return Sql(
            f"SELECT {', '.join(c.text for c in columns)} FROM {source.text}{condition}",
            [*(p for c in columns for p in c.params), *source.params, *(p for w in where for p in w.params)],
        )

    def _with_traits(self, events: Sql, columns: tuple[str, ...], keys: list[str]) -> Sql:
        """`columns` of `events` and each trait of `keys` of the event's user (user_prop_column):
        the value in the last of the user's identify events that gives one, in arrival order."""
        values = ", ".join(f"{DIALECT.prop()} AS t{n}" for n in range(len(keys)))
        traits = ", ".join(
            f"argMaxIf(t{n}, {ARRIVAL_ORDER}, t{n} != '') AS {user_prop_column(key)}" for n, key in enumerate(keys)
        )
        # One join, at most, per SELECT in ClickHouse 18.16: the traits are joined to the events alone.
        return Sql(
            f"SELECT {', '.join(columns)}, {', '.join(user_prop_column(key) for key in keys)} FROM ({events.text}) ev"
            f" ANY LEFT JOIN (SELECT user_id_hash, {traits} FROM (SELECT user_id_hash, ts, arrival, event_id, {values}"
            f" FROM {self.table} WHERE property_id = %s AND type = %s AND user_id_hash != '') GROUP BY user_id_hash)"
            " traits USING user_id_hash",
            [*events.params, *keys, self.prop.pk, IDENTIFY],
        )

    @property
    def _visit_metrics(self) -> list[str]:
        return [name for name in self.query.metrics if name in VISIT_METRICS]

    def _statements(self) -> list[tuple[Sql, list[str]]]:
        dimensions = self.query.dimensions
        keys = [f"k{n}" for n in range(len(dimensions))]
        values = [self._value(d) for d in dimensions]
        keyed = [Sql(f"{v.text} AS {key}", v.params) for v, key in zip(values, keys, strict=True)]
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        statements = []
        event_metrics = [name for name in self.query.metrics if name not in VISIT_METRICS]
        if event_metrics:
            expressions, params = [], []
            for name in event_metrics:
                if name.startswith(EVENTS_OF_TYPE_PREFIX):
                    expressions.append("countIf(type = %s)")
                    params.append(name.removeprefix(EVENTS_OF_TYPE_PREFIX))
                else:
                    expressions.append(EVENT_METRICS[name])
            counts_visits = "visits" in event_metrics
            facts = self.facts(
                [*keyed, Sql("day"), *([Sql("session_key")] if counts_visits else []), Sql("visitor_key"), Sql("type")],
                keyed=counts_visits,
            )
            statements.append(
                (
                    Sql(
                        f"SELECT {', '.join([*keys, *expressions])} FROM ({facts.text}) facts{group}",
                        [*params, *facts.params],
                    ),
                    event_metrics,
                )
            )
        if self._visit_metrics:
            # The visits with a matching event, in the group of each, at the time they began.
            plain = [(k, d) for k, d in zip(keyed, dimensions, strict=True) if d.scope != TIME]
            facts = self.facts([*(k for k, _ in plain), Sql("day"), Sql("session_key")])
            columns = []
            for key, dimension in zip(keys, dimensions, strict=True):
                if dimension.scope == TIME:
                    bucket = self._value(dimension, visit_bucket=True)
                    columns.append(Sql(f"{bucket.text} AS {key}", bucket.params))
                else:
                    columns.append(Sql(key))
            visit_expressions = ", ".join(VISIT_METRICS[name] for name in self._visit_metrics)
            plain_keys = [key for key, d in zip(keys, dimensions, strict=True) if d.scope != TIME]
            statements.append(
                (
                    Sql(
                        f"SELECT {', '.join([*(c.text for c in columns), visit_expressions])}"
                        f" FROM (SELECT DISTINCT {', '.join([*plain_keys, 'day', 'session_key'])}"
                        f" FROM ({facts.text}) facts) m"
                        f" ALL INNER JOIN ({visits_sql(self.table)}) s USING (day, session_key){group}",
                        [*(p for c in columns for p in c.params), *facts.params, *self._range_params * 3],
                    ),
                    self._visit_metrics,
                )
            )
        return statements
