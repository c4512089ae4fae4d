"""The database store's compiler: a Query as one SQL statement for PostgreSQL or SQLite (its
dialect), over the grains of grains.py (visit rows and event rows, and identity rows for visitors
alone, from the rollups for clean days and raw events for dirty ones).

- a query that names only visit dimensions, counts and visit metrics reads visit rows alone: every
  event of a kept visit matches, so its counts are the visit's; one that counts visitors alone,
  unfiltered, by day, week or month at most, reads the narrower identity rows (a visit's visitor is
  its events');
- any other reads event rows, joined to their visits when a visit dimension or metric is named; a
  range of times, a minute or hour bucket or a custom property (`event:props:…`) reads raw events
  for every day, the rollups keeping neither the time nor the data of an event.

Event metrics are counted over the matching events (visits as distinct day and visit key); visit
metrics over the kept visits, in the group of each of their matching events, their time being
the bucket where the visit began.
"""

from dataclasses import dataclass
from datetime import date

from django.db import connection

from apps.properties.models import Property
from apps.reports.queries.goals import PAGEVIEWS
from apps.reports.queries.query import (
    Filter,
    Query,
    filtered_dimensions,
)
from apps.reports.queries.visits import VISIT_ROW_COLUMNS, VisitCursor
from apps.reports.queries.vocabulary import (
    CLOCK_BUCKETS,
    EVENT,
    EVENTS_OF_TYPE_PREFIX,
    PROPS_PREFIX,
    TIME,
    USER_PROPS_PREFIX,
    VISIT,
    Dimension,
    user_prop_column,
)
from apps.reports.stores.database.grains import grain_rows_sql, person_key_sql, user_trait_sql
from apps.reports.stores.sql import (
    Dialect,
    Sql,
    day_read,
    fact_value,
    holds,
    marks_sql,
    user_prop_keys,
)

PAGEVIEW = "pageview"
VISIT_METRICS = {
    "bounce_rate": "100.0 * SUM(CASE WHEN pageviews = 1 THEN 1 ELSE 0 END)"
    " / NULLIF(SUM(CASE WHEN pageviews > 0 THEN 1 ELSE 0 END), 0)",
    "views_per_visit": "1.0 * SUM(pageviews) / NULLIF(SUM(CASE WHEN pageviews > 0 THEN 1 ELSE 0 END), 0)",
    # Microseconds summed exactly, divided once: the mean a store answers is the oracle's, to the last digit.
    "visit_duration": "SUM(duration) / (1000000.0 * NULLIF(COUNT(*), 0))",
    # vocabulary.VISIT_PARTS
    "bounces": "SUM(CASE WHEN pageviews = 1 THEN 1 ELSE 0 END)",
    "pageview_visits": "SUM(CASE WHEN pageviews > 0 THEN 1 ELSE 0 END)",
    "visit_pageviews": "SUM(pageviews)",
    "visit_microseconds": "SUM(duration)",
    "visit_count": "COUNT(*)",
}


@dataclass
class CompiledQuery:
    """A query over a property's range as one SQL statement of the store's grains (grains.py)."""

    prop: Property
    query: Query
    first: date
    last: date
    dialect: Dialect
    # Filters the rows read are marked by (funnel steps, a retention goal), which they must be able to test.
    marks: tuple[Filter, ...] = ()

    def rows(self) -> list[tuple]:
        return self._fetched(self._statement())

    def step_rows(self, *, in_visits: bool) -> list[tuple]:
        """EventStore.step_events, the query being base.marked_query's and the marks the steps."""
        group = self._value(self.query.dimensions[0]) if self.query.dimensions else Sql("NULL")
        epoch = self.dialect.epoch_microseconds("e.ts")
        visit = "e.session_key" if in_visits else "0"
        columns = [Sql(f"e.visitor_key, e.day, {visit}, {epoch}"), marks_sql(self.marks, self.dialect), group]
        return self._fetched(self._raw_events(columns, keyed=in_visits))

    def cohort_rows(self, period: str) -> tuple[list[tuple], int, int]:
        """EventStore.cohorts, the query being base.marked_query's and the mark the goal's: the
        identities' keys (NULL for none) of the raw events that pass the filters, or, without filters
        or a goal, of the identity rows (grains.py), kept per day."""
        if self.query.filters or self.marks:
            completed = marks_sql(self.marks, self.dialect)
            matching = self._raw_events([Sql(f"{person_key_sql()} AS person, e.day"),
                                         Sql(f"{completed.text} AS completed", completed.params), Sql("e.visitor_key")],
                                        identity=True, keyed=False)  # fmt: skip
        else:
            matching = Sql(
                *grain_rows_sql(
                    "identities",
                    self.prop,
                    self.first,
                    self.last,
                    columns=("person_key AS person", "day", "0 AS completed", "visitor_key"),
                )
            )
        bucket = {"day": self.dialect.day, "week": self.dialect.week, "month": self.dialect.month}[period]("m.day")
        # One statement over the matching rows kept once: reading raw events joined to their visits
        # twice took half as long again (docs/benchmarks.md). Each person's cohort as a window over
        # their periods: one sort by person, where a second grouping joined back took half as long
        # again. Then the distinct visitors grouped, not COUNT(DISTINCT), which PostgreSQL sorts;
        # their row is the one without a cohort.
        rows = self._fetched(
            Sql(
                f"WITH matching AS MATERIALIZED ({matching.text})"
                " SELECT cohort, period, COUNT(*), SUM(completed) FROM (SELECT"
                f" {bucket} AS period, MAX(completed) AS completed, MIN({bucket}) OVER (PARTITION BY person) AS cohort"
                f" FROM matching m WHERE person IS NOT NULL GROUP BY person, {bucket}) p GROUP BY cohort, period"
                " UNION ALL SELECT NULL, NULL, COUNT(*), SUM(identified) FROM (SELECT visitor_key,"
                " MAX(CASE WHEN person IS NOT NULL THEN 1 ELSE 0 END) AS identified FROM matching"
                " WHERE visitor_key IS NOT NULL GROUP BY visitor_key) v",
                matching.params,
            )
        )
        cohorts = [row for row in rows if row[0] is not None]
        ((_, _, visitors, identified),) = [row for row in rows if row[0] is None]
        counted = [(day_read(c), day_read(p), people, done) for c, p, people, done in cohorts]
        return counted, visitors, int(identified or 0)

    def visit_rows(self, *, before: VisitCursor | None, limit: int, visit_key: int | None) -> list[tuple]:
        """EventStore.visits_page, the query being base.marked_query's: the visit rows, kept by the
        filters themselves when they name visits alone, else by the visits of their matching events."""
        started = self.dialect.epoch_microseconds("s.first_ts")
        where = []
        if self._reads_event_rows:
            source = self._in_visits(self._events())
            conditions = [holds(f, self.dialect) for f in self._filters]
            where.append(
                Sql(
                    f"(s.day, s.session_key) IN (SELECT e.day, e.session_key FROM {source.text}"
                    f" WHERE {' AND '.join(c.text for c in conditions)})",
                    [*source.params, *(p for c in conditions for p in c.params)],
                )
            )
        else:
            where += [holds(f, self.dialect) for f in self._filters]
            if self._pageviews_only:
                where.append(Sql("s.pageviews > 0"))
        if visit_key is not None:
            where.append(Sql("s.session_key = %s", [visit_key]))
        if before is not None:
            at, day, key = before
            where.append(
                Sql(
                    f"({started} < %s OR ({started} = %s AND (s.day < %s OR (s.day = %s AND s.session_key < %s))))",
                    [at, at, day, day, key],
                )
            )
        visits_sql, visits_params = grain_rows_sql("sessions", self.prop, self.first, self.last)
        columns = [f"s.{c}" for c in VISIT_ROW_COLUMNS[:-2]]
        condition = f" WHERE {' AND '.join(w.text for w in where)}" if where else ""
        return self._fetched(
            Sql(
                f"SELECT {', '.join(columns)}, {started} AS started,"
                f" {self.dialect.epoch_microseconds('s.last_ts')} FROM ({visits_sql}) s{condition}"
                " ORDER BY started DESC, s.day DESC, s.session_key DESC LIMIT %s",
                [*visits_params, *(p for w in where for p in w.params), limit],
            )
        )

    def _raw_events(self, columns: list[Sql], *, identity: bool = False, keyed: bool = True) -> Sql:
        """A SELECT of `columns` of the raw events (e, in their visits s) that pass the query's
        filters; `keyed` as _events'."""
        source = self._in_visits(self._events(timed=True, identity=identity, keyed=keyed))
        where = [holds(f, self.dialect) for f in self.query.filters]
        condition = f" WHERE {' AND '.join(w.text for w in where)}" if where else ""
        return Sql(
            f"SELECT {', '.join(c.text for c in columns)} FROM {source.text}{condition}",
            [*(p for c in columns for p in c.params), *source.params, *(p for w in where for p in w.params)],
        )

    def _in_visits(self, events: Sql) -> Sql:
        """`events` as the source e, joined to their visits s when the query names a visit column."""
        source = Sql(f"({events.text}) e", events.params)
        if not self._visit_columns:
            return source
        visits = self._visits()
        return Sql(
            f"{source.text} JOIN ({visits.text}) s ON s.day = e.day AND s.session_key = e.session_key",
            [*source.params, *visits.params],
        )

    @staticmethod
    def _fetched(statement: Sql) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(statement.text, statement.params)
            return cursor.fetchall()

    # --- the plan ---------------------------------------------------------------------------

    @property
    def _pageviews_only(self) -> bool:
        """Whether the query's only reason to read event rows is a filter `event:name is pageview`
        of its own: visit rows answer it as the visits with pageviews, whose matching events are
        their pageviews."""
        rest = tuple(f for f in self.query.filters if f != PAGEVIEWS)
        named = [*self.query.dimensions, *filtered_dimensions(rest)]
        typed = any(name.startswith(EVENTS_OF_TYPE_PREFIX) for name in self.query.metrics)
        return len(rest) < len(self.query.filters) and not (
            typed or self._timed or any(d.scope == EVENT for d in named)
        )

    @property
    def _filters(self) -> tuple[Filter, ...]:
        if self._pageviews_only:
            return tuple(f for f in self.query.filters if f != PAGEVIEWS)
        return self.query.filters

    @property
    def _named(self) -> list[Dimension]:
        """Every dimension the query groups, filters or marks by."""
        return [*self.query.dimensions, *filtered_dimensions((*self._filters, *self.marks))]

    @property
    def _event_metrics(self) -> list[str]:
        return [name for name in self.query.metrics if name not in VISIT_METRICS]

    @property
    def _visit_metrics(self) -> list[str]:
        return [name for name in self.query.metrics if name in VISIT_METRICS]

    @property
    def _timed(self) -> bool:
        """Whether the query needs its events' times: a range of times, or a time-of-day bucket."""
        time = self.query.time_dimension
        return self.query.date_range.since is not None or (time is not None and time.column in CLOCK_BUCKETS)

    @property
    def _reads_event_rows(self) -> bool:
        typed = any(name.startswith(EVENTS_OF_TYPE_PREFIX) for name in self.query.metrics)
        return typed or self._timed or any(d.scope == EVENT for d in self._named)

    @property
    def _reads_raw(self) -> bool:
        return self._timed or any(d.name.startswith((PROPS_PREFIX, USER_PROPS_PREFIX)) for d in self._named)

    @property
    def _visitors_alone(self) -> bool:
        """Whether the query counts every event's visitors and nothing else, by day, week or month at
        most: the identity rows hold what it needs, in a third of the visit rows' bytes."""
        calendar = all(d.scope == TIME and d.column not in CLOCK_BUCKETS for d in self.query.dimensions)
        unfiltered = not (self.query.filters or self.marks or self._timed)
        return self.query.metrics == ("visitors",) and calendar and unfiltered

    @property
    def _visit_columns(self) -> list[str]:
        return list(dict.fromkeys(d.column for d in self._named if d.scope == VISIT))

    # --- SQL --------------------------------------------------------------------------------

    def _visits(self) -> Sql:
        columns = ("day", "session_key", "visitor_key", "pageviews", "events", "first_ts", "last_ts")
        sql, params = grain_rows_sql(
            "sessions",
            self.prop,
            self.first,
            self.last,
            columns=(*columns, *(c for c in self._visit_columns if c not in columns)),
        )
        return Sql(sql, params)

    def _visitor_days(self) -> Sql:
        """The range's visitors of each day (identity rows: one per visitor and lasting identity)."""
        return Sql(*grain_rows_sql("identities", self.prop, self.first, self.last, columns=("day", "visitor_key")))

    def _events(self, *, timed: bool = False, identity: bool = False, keyed: bool = True) -> Sql:
        """The event rows of the range; `timed`: raw events with their times, whatever the query
        names; `identity`: raw events with their ids; not `keyed`: without their visit's key, unless
        a visit is joined (its rows then need no split of dirty days' sessions into visits)."""
        keyed = keyed or bool(self._visit_columns)
        columns = ("day", "type", "path", "hostname", *(("session_key",) if keyed else ()), "visitor_key", "events")
        props = any(d.name.startswith(PROPS_PREFIX) for d in self._named)
        traits = user_prop_keys(self._named)
        timed = timed or self._timed
        identity = identity or bool(traits)
        sql, params = grain_rows_sql(
            "events",
            self.prop,
            self.first,
            self.last,
            columns=(
                *columns,
                *(("ts",) if timed else ()),
                *(("data",) if props else ()),
                *(("visitor_id", "user_id_hash") if identity else ()),
            ),
            raw=timed or self._reads_raw,
            data=props,
            identity=identity,
        )
        if not traits:
            return Sql(sql, params)
        # Each trait named, joined to the event by its user (grains.user_trait_sql).
        joins, values = [], []
        for n, key in enumerate(traits):
            trait_sql, trait_params = user_trait_sql(self.prop, key, self.dialect.prop())
            joins.append(Sql(f" LEFT JOIN ({trait_sql}) t{n} ON t{n}.user_id_hash = ev.user_id_hash", trait_params))
            values.append(f"COALESCE(t{n}.value, '') AS {user_prop_column(key)}")
        return Sql(
            f"SELECT ev.*, {', '.join(values)} FROM ({sql}) ev{''.join(j.text for j in joins)}",
            [*params, *(p for j in joins for p in j.params)],
        )

    def _value(self, dimension: Dimension, *, visit_bucket: bool = False) -> Sql:
        """A dimension's value of a fact row (e: its event, s: its visit); a time dimension's
        bucket is the event's, or with `visit_bucket` the visit's start."""
        if dimension.scope != TIME:
            return fact_value(dimension, self.dialect)
        alias = "s" if visit_bucket or not self._reads_event_rows else "e"
        if dimension.column in CLOCK_BUCKETS:
            ts = "s.first_ts" if alias == "s" else "e.ts"
            return Sql(self.dialect.clock(ts, dimension.column), [self.prop.timezone])
        bucket = {"day": self.dialect.day, "week": self.dialect.week, "month": self.dialect.month}[dimension.column]
        return Sql(bucket(f"{alias}.day"))

    def _statement(self) -> Sql:
        dimensions = self.query.dimensions
        keys = [f"k{n}" for n in range(len(dimensions))]
        ctes: list[Sql] = []
        where = [holds(f, self.dialect) for f in self._filters]
        window = self.query.date_range
        if window.since is not None:
            adapt = connection.ops.adapt_datetimefield_value
            where.append(Sql("e.ts BETWEEN %s AND %s", [adapt(window.since), adapt(window.until)]))
        if self._pageviews_only:
            where.append(Sql("s.pageviews > 0"))
        condition = Sql(
            f" WHERE {' AND '.join(w.text for w in where)}" if where else "", [p for w in where for p in w.params]
        )
        values = [self._value(d) for d in dimensions]
        selected = [
            f"{v.text}{'' if d.scope == TIME else self.dialect.byte_order} AS {key}"
            for v, d, key in zip(values, dimensions, keys, strict=True)
        ]
        value_params = [p for v in values for p in v.params]
        if not self._reads_event_rows:
            visits = self._visitor_days() if self._visitors_alone else self._visits()
            columns = [*selected, "s.*", *self._duration()]
            ctes.append(
                Sql(
                    f"facts AS (SELECT {', '.join(columns)} FROM ({visits.text}) s{condition.text})",
                    [*value_params, *visits.params, *condition.params],
                )
            )
            event_source, visit_source = "facts", "facts"
            counts = {"visits": "COUNT(*)"}
            if self._pageviews_only:
                counts["events"] = "SUM(pageviews)"
        else:
            keyed = bool(self._visit_columns or self._visit_metrics or "visits" in self.query.metrics)
            source = self._in_visits(self._events(keyed=keyed))
            visits = self._visits()
            typed = [name for name in self._event_metrics if name.startswith(EVENTS_OF_TYPE_PREFIX)]
            columns = [
                *selected,
                "e.day",
                *(["e.session_key"] if keyed else []),
                "e.visitor_key",
                "e.events",
                f"CASE WHEN e.type = '{PAGEVIEW}' THEN e.events ELSE 0 END AS pageviews",
                *(f"CASE WHEN e.type = %s THEN e.events ELSE 0 END AS t{n}" for n in range(len(typed))),
            ]
            ctes.append(
                Sql(
                    f"facts AS (SELECT {', '.join(columns)} FROM {source.text}{condition.text})",
                    [
                        *value_params,
                        *(name.removeprefix(EVENTS_OF_TYPE_PREFIX) for name in typed),
                        *source.params,
                        *condition.params,
                    ],
                )
            )
            event_source = "facts"
            counts = {}
            if "visits" in self.query.metrics:
                # A visit counted once per group: its matching events summed into one piece.
                pieces = [*keys, "day", "session_key"]
                sums = ", ".join(
                    f"SUM({c}) AS {c}" for c in ("events", "pageviews", *(f"t{n}" for n in range(len(typed))))
                )
                ctes.append(
                    Sql(
                        f"pieces AS (SELECT {', '.join(pieces)}, MAX(visitor_key) AS visitor_key, {sums}"
                        f" FROM facts GROUP BY {', '.join(pieces)})"
                    )
                )
                event_source = "pieces"
                counts = {"visits": "COUNT(*)"}
            counts.update({name: f"SUM(t{typed.index(name)})" for name in typed})
            visit_source = "kept"
            if self._visit_metrics:
                # The visits with a matching event, in the group of each, at the time they began.
                plain = [key for key, d in zip(keys, dimensions, strict=True) if d.scope != TIME]
                time = [(key, d) for key, d in zip(keys, dimensions, strict=True) if d.scope == TIME]
                bucket = [self._value(d, visit_bucket=True) for _, d in time]
                kept_columns = [
                    *(f"m.{key}" for key in plain),
                    *(f"{b.text} AS {key}" for b, (key, _) in zip(bucket, time, strict=True)),
                    "s.pageviews",
                    *self._duration(),
                ]
                ctes.append(
                    Sql(
                        f"kept AS (SELECT {', '.join(kept_columns)} FROM"
                        f" (SELECT DISTINCT {', '.join([*plain, 'day', 'session_key'])} FROM facts) m"
                        f" JOIN ({visits.text}) s ON s.day = m.day AND s.session_key = m.session_key)",
                        [p for b in bucket for p in b.params] + visits.params,
                    )
                )
        counts = {
            "visitors": "COUNT(DISTINCT visitor_key)",
            "pageviews": "SUM(pageviews)",
            "events": "SUM(events)",
            **counts,
        }
        group = f" GROUP BY {', '.join(keys)}" if keys else ""
        outputs = [f"m{n}" for n in range(len(self.query.metrics))]
        if event_source == visit_source:
            # Visit rows alone: every metric in one pass over them.
            expressions = {**counts, **VISIT_METRICS}
            metrics = ", ".join(f"{expressions[name]} AS m{n}" for n, name in enumerate(self.query.metrics))
            ctes.append(Sql(f"totals AS (SELECT {', '.join([*keys, metrics])} FROM facts{group})"))
            return self._with(ctes, f"SELECT {', '.join([*keys, *outputs])} FROM totals")
        parts = []
        if self._event_metrics:
            metrics = ", ".join(f"{counts[name]} AS m{n}" for n, name in self._metric_positions(self._event_metrics))
            ctes.append(Sql(f"event_totals AS (SELECT {', '.join([*keys, metrics])} FROM {event_source}{group})"))
            parts.append("event_totals")
        if self._visit_metrics:
            metrics = ", ".join(
                f"{VISIT_METRICS[name]} AS m{n}" for n, name in self._metric_positions(self._visit_metrics)
            )
            ctes.append(Sql(f"visit_totals AS (SELECT {', '.join([*keys, metrics])} FROM {visit_source}{group})"))
            parts.append("visit_totals")
        if len(parts) == 1:
            body = f"SELECT {', '.join([*keys, *outputs])} FROM {parts[0]}"
        elif not keys:
            body = f"SELECT {', '.join(outputs)} FROM event_totals CROSS JOIN visit_totals"
        else:
            union = " UNION ".join(f"SELECT {', '.join(keys)} FROM {part}" for part in parts)
            joins = " ".join(
                f"LEFT JOIN {part} ON {' AND '.join(f'{part}.{key} = g.{key}' for key in keys)}" for part in parts
            )
            body = f"SELECT {', '.join([*(f'g.{key}' for key in keys), *outputs])} FROM ({union}) g {joins}"
        return self._with(ctes, body)

    @staticmethod
    def _with(ctes: list[Sql], body: str) -> Sql:
        return Sql(f"WITH {', '.join(c.text for c in ctes)} {body}", [p for c in ctes for p in c.params])

    def _duration(self) -> list[str]:
        """The column of a visit's length (s: the visit row), when the query asks for it."""
        if not {"visit_duration", "visit_microseconds"} & set(self.query.metrics):
            return []
        return [f"{self.dialect.microseconds_between('s.first_ts', 's.last_ts')} AS duration"]

    def _metric_positions(self, names: list[str]) -> list[tuple[int, str]]:
        return [(self.query.metrics.index(name), name) for name in names]
