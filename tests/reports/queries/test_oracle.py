"""The oracle on small hand-written histories: the rules MetricsQuery cannot be asked about."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from apps.reports.queries.goals import GoalDefinition
from apps.reports.queries.oracle import CAMPAIGN_FIELDS, query_oracle
from apps.reports.queries.query import query_parse
from apps.reports.queries.vocabulary import VISIT_ATTRIBUTE_COLUMNS

DAY = date(2026, 3, 2)
NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)


def event(n: int, **fields) -> dict:
    row = dict.fromkeys((*CAMPAIGN_FIELDS, *VISIT_ATTRIBUTE_COLUMNS, "hostname"), "")
    row.update(
        event_id=f"ev{n:03d}",
        type="pageview",
        path="/",
        ts=NOON,
        arrival=n,
        session_key=1,
        visitor_key=10,
        user_id_hash="",
        data={},
    )
    row.update(fields)
    return row


def ask(events: list[dict], timezone=UTC, **request) -> list[dict]:
    query = query_parse({"date_range": [DAY.isoformat(), DAY.isoformat()], **request})
    return query_oracle(timezone=timezone, events=events, query=query, today=DAY).rows


def test_a_visits_first_event_in_the_same_second_is_the_one_received_first():
    events = [event(2, event_id="a", source="Google"), event(1, event_id="b", source="example.com")]
    rows = ask(events, metrics=["visits"], dimensions=["visit:source"])
    assert rows == [{"dimensions": ["example.com"], "metrics": [1]}]


def test_a_new_campaign_mid_visit_starts_a_visit_and_local_midnight_ends_one():
    events = [
        event(1, ts=NOON),
        event(2, ts=NOON + timedelta(minutes=1), utm_campaign="spring", source="partner"),
        event(3, ts=NOON + timedelta(minutes=2), utm_campaign="spring"),
    ]
    assert ask(events, metrics=["visits"], dimensions=["visit:source"]) == [
        {"dimensions": [None], "metrics": [1]},
        {"dimensions": ["partner"], "metrics": [1]},
    ]
    kolkata = ZoneInfo("Asia/Kolkata")  # local midnight is 18:30 UTC
    late = [
        event(1, ts=datetime(2026, 3, 1, 18, 29, tzinfo=UTC)),
        event(2, ts=datetime(2026, 3, 1, 18, 31, tzinfo=UTC)),
    ]
    both_days = ["2026-03-01", "2026-03-02"]
    assert ask(late, kolkata, metrics=["visits", "events"], date_range=both_days) == [
        {"dimensions": [], "metrics": [2, 2]}
    ]


def test_custom_properties_group_and_filter_with_every_operator():
    events = [
        event(1, data={"plan": "pro"}),
        event(2, data={"plan": "pro-yearly"}, session_key=2, visitor_key=11),
        event(3, data={"plan": 2}, session_key=3, visitor_key=12),
        event(4, data={"plan": 1.5}, session_key=4, visitor_key=13),
        event(5, type="signup", data={"plan": True}),
    ]
    assert ask(events, metrics=["events"], dimensions=["event:props:plan"]) == [
        {"dimensions": [None], "metrics": [1]},
        {"dimensions": ["2"], "metrics": [1]},
        {"dimensions": ["pro"], "metrics": [1]},
        {"dimensions": ["pro-yearly"], "metrics": [1]},
        {"dimensions": ["true"], "metrics": [1]},
    ]
    matching = {
        ("is", "pro"): 1,
        ("is_not", "pro"): 4,
        ("contains", "pro"): 2,
        ("contains_not", "pro"): 3,
        ("matches", "^pro(-[a-z]+)?$"): 2,
        ("matches_not", "^[0-9]+$"): 4,
    }
    for (operator, value), count in matching.items():
        rows = ask(events, metrics=["events"], filters=[[operator, "event:props:plan", [value]]])
        assert rows == [{"dimensions": [], "metrics": [count]}], operator


def test_an_event_filter_keeps_events_and_a_visit_filter_keeps_whole_visits():
    events = [
        event(1, path="/a", country="GB"),
        event(2, path="/b"),
        event(3, path="/b", session_key=2, visitor_key=11, country="FR"),
    ]
    by_page = ask(events, metrics=["pageviews", "visits", "bounce_rate"], filters=[["is", "event:page", ["/a"]]])
    assert by_page == [{"dimensions": [], "metrics": [1, 1, 0.0]}], "the kept visit, whole, viewed two pages"
    either = ask(
        events, metrics=["pageviews"], filters=[["or", [["is", "visit:country", ["GB"]], ["is", "event:page", ["/b"]]]]]
    )
    assert either == [{"dimensions": [], "metrics": [3]}]
    neither = ask(events, metrics=["pageviews", "events:pageview"], filters=[["not", ["is", "visit:country", ["GB"]]]])
    assert neither == [{"dimensions": [], "metrics": [1, 1]}]


def test_order_pagination_totals_time_labels_and_compare():
    events = [
        event(1, path="/a"),
        event(2, path="/b", session_key=2, visitor_key=11),
        event(3, path="/b", session_key=3, visitor_key=12),
        event(4, path="/c", ts=NOON - timedelta(days=1), session_key=4),
    ]
    query = query_parse(
        {
            "metrics": ["visitors"],
            "date_range": [DAY.isoformat(), DAY.isoformat()],
            "dimensions": ["event:page"],
            "order_by": [["event:page", "desc"]],
            "pagination": {"limit": 1, "offset": 1},
            "include": {"totals": True, "compare": "previous_period"},
        }
    )
    answer = query_oracle(timezone=UTC, events=events, query=query, today=DAY)
    assert answer.rows == [{"dimensions": ["/a"], "metrics": [1]}]
    assert answer.totals == [3]
    assert (answer.comparison.first, answer.comparison.last) == (DAY - timedelta(days=1),) * 2
    assert answer.comparison.totals == [1]
    hourly = ask(events, metrics=["visitors"], dimensions=["time:hour"], include={"time_labels": True})
    assert len(hourly) == 24 and hourly[12] == {"dimensions": ["2026-03-02 12:00:00"], "metrics": [3]}


def test_goals_count_conversions_and_rates_by_hand():
    goals = (
        GoalDefinition("Blog", "pageview", path_pattern="/blog/**"),
        GoalDefinition("Post", "pageview", path_pattern="/blog/*"),
        GoalDefinition("Pro signup", "event", event_type="signup", properties=(("plan", "pro"),)),
    )
    events = [
        # Visitor 10: a blog post, then a pro signup; visitor 11: a nested blog page; visitor 12: a free
        # signup on a post-less visit; visitor 13: the blog index's parent, no goal.
        event(1, path="/blog/a", source="Google"),
        event(2, type="signup", data={"plan": "pro"}, ts=NOON + timedelta(minutes=1)),
        event(3, path="/blog/a/b", session_key=2, visitor_key=11, source="Google"),
        event(4, type="signup", data={"plan": "free"}, session_key=3, visitor_key=12),
        event(5, path="/blog", session_key=4, visitor_key=13, source="Google"),
    ]

    def rows(**request) -> list[dict]:
        query = query_parse({"date_range": [DAY.isoformat(), DAY.isoformat()], **request})
        return query_oracle(timezone=UTC, events=events, query=query, today=DAY, goals=goals).rows

    metrics = ["conversions", "unique_conversions", "conversion_rate"]
    assert rows(metrics=metrics, dimensions=["event:goal"]) == [
        {"dimensions": ["Blog"], "metrics": [2, 2, 50.0]},
        {"dimensions": ["Post"], "metrics": [1, 1, 25.0]},
        {"dimensions": ["Pro signup"], "metrics": [1, 1, 25.0]},
    ]
    # Any goal: events 1, 2 and 3, of visitors 10 and 11.
    assert rows(metrics=[*metrics, "visitors"]) == [{"dimensions": [], "metrics": [3, 2, 50.0, 4]}]
    # The rate's visitors are those of the group without the goal filter: Google's three.
    assert rows(metrics=["visitors", "conversion_rate"], dimensions=["visit:source"],
                filters=[["is", "event:goal", ["Blog"]]]) == [
        {"dimensions": ["Google"], "metrics": [2, 66.67]}
    ]  # fmt: skip
    assert rows(metrics=["events"], filters=[["is_not", "event:goal", ["Blog", "Pro signup"]]]) == [
        {"dimensions": [], "metrics": [2]}
    ]
    assert rows(metrics=["events"], filters=[["matches", "event:goal", ["^P"]]]) == [{"dimensions": [], "metrics": [2]}]
