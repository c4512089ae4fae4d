"""Event histories for the query tests: a few visitors over a few days, sent as requests through the
real storage path: sessions that cross local midnight, ties in the same second decided by arrival,
campaigns that split visits, custom properties, replays."""

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import strategies as st

from apps.ingestion.storage import AcceptedBatch
from devtools.events import validated_event
from tests.reports.test_rollup_equivalence import PLACES, RECEIVED, REFERRERS, USER_AGENTS

FIRST_DAY = date(2026, 3, 1)
DAYS = 3
# UTC, and one whose midnight is not UTC's (and not a whole hour away).
TIMEZONES = ("UTC", "Asia/Kolkata")

# A visitor's place and browser, so that one request often carries several events of one visit
# (ties in the same second decided by arrival).
DEVICES = {
    visitor: {"place": place, "user_agent": user_agent}
    for visitor, (place, user_agent) in zip(
        ["", "v1", "v2", "v3"], [(p, u) for p in PLACES for u in USER_AGENTS], strict=True
    )
}
fact = st.fixed_dictionaries(
    {
        "day": st.integers(0, DAYS - 1),
        # Minutes from the day's local midnight: sessions that cross it, and many ties.
        "minute": st.sampled_from([-2, -1, 0, 1, 1, 2, 700]),
        "second": st.sampled_from([0, 0, 0, 30]),
        # An identify event gives its user (user_id_hash) the traits in its data.
        "type": st.sampled_from(["pageview", "pageview", "click", "signup", "identify"]),
        "path": st.sampled_from(["/", "/a", "/b"]),
        "host": st.sampled_from(["example.com", "www.example.com"]),
        "visitor_id": st.sampled_from(["", "v1", "v2", "v3"]),
        "session_id": st.sampled_from(["", "s1", "s1", "s2"]),
        "user_id_hash": st.sampled_from(["", "", "u1", "u2"]),
        "campaign_id": st.sampled_from(["", "", "", "cmp_1"]),
        "utm_campaign": st.sampled_from(["", "", "spring"]),
        "utm_source": st.sampled_from(["", "", "partner"]),
        "referrer": st.sampled_from(list(REFERRERS)),
        "received": st.integers(0, 2),
        "data": st.sampled_from(
            [
                {},
                {"plan": "pro"},
                {"plan": "Pro"},
                {"plan": 2},
                {"plan": True},
                {"plan": 1.5},
                # Revenue: decimal text, an integer, another currency, no amount, several decimals.
                {"revenue": "19.99", "currency": "EUR"},
                {"revenue": 5, "currency": "EUR", "plan": "pro"},
                {"revenue": "2.50", "currency": "USD"},
                {"revenue": "abc", "currency": "EUR"},
                {"revenue": "0.125", "currency": "EUR", "plan": "pro"},
            ]
        ),
        # Sent again in a later request (a retry): stored once.
        "replayed": st.sampled_from([False, False, False, True]),
    }
).map(lambda f: {**f, **DEVICES[f["visitor_id"]]})


def local_ts(f: dict, timezone) -> datetime:
    midnight = datetime.combine(FIRST_DAY + timedelta(days=f["day"]), time(), timezone)
    return (midnight + timedelta(minutes=f["minute"], seconds=f["second"])).astimezone(UTC)


def batches_of(facts: list[dict], timezone) -> list[AcceptedBatch]:
    """One request per time received, place and user agent; a replayed event is sent once more in a
    request after all others."""
    batches = []
    for received in range(4):
        for place in PLACES:
            for user_agent in USER_AGENTS:
                batch = [
                    f
                    for f in facts
                    if (f["received"], f["place"], f["user_agent"]) == (received, place, user_agent)
                    or (received == 3 and f["replayed"] and (f["place"], f["user_agent"]) == (place, user_agent))
                ]
                events = [
                    validated_event(
                        ts=local_ts(f, timezone).isoformat(),
                        url=f"https://{f['host']}{f['path']}",
                        referrer=f["referrer"],
                        data=f["data"],
                        user_id_hash=f.get("user_id_hash", ""),
                        **{
                            name: f[name]
                            for name in (
                                "event_id",
                                "type",
                                "path",
                                "visitor_id",
                                "session_id",
                                "campaign_id",
                                "utm_campaign",
                                "utm_source",
                            )
                        },
                    )
                    for f in batch
                ]
                context = {"user_agent": user_agent, **PLACES[place]}
                batches.append(AcceptedBatch(0, 0, RECEIVED + timedelta(seconds=received), events, context))
    return batches
