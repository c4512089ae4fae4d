"""The dashboard's numbers come from the same query layer as the API, so they agree with it."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.dashboard import CARD_METRICS, PANELS, dashboard_cards, dashboard_panel, dashboard_series
from apps.reports.periods import Period
from apps.reports.queries.query import IS, Condition
from apps.reports.selectors import QUERY_DIMENSIONS
from devtools.events import validated_event

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
PERIOD = Period(date(2026, 5, 8), date(2026, 5, 14))


def seed(prop) -> None:
    events = []
    for day_offset in range(14):  # the period and the one before it
        day = datetime(2026, 5, 1, 9, tzinfo=UTC) + timedelta(days=day_offset)
        for n in range(day_offset % 4 + 1):
            session = f"s{day_offset}-{n}"
            for step, path in enumerate(["/", "/pricing", "/docs"][: n + 1]):
                events.append(
                    validated_event(
                        ts=(day + timedelta(minutes=7 * n + 2 * step)).isoformat(),
                        url="https://example.com" + path,
                        path=path,
                        visitor_id=f"v{n}",
                        session_id=session,
                    )
                )
        events.append(validated_event(ts=day.isoformat(), type="signup", visitor_id="v0", session_id="x", data={}))
    batch = AcceptedBatch(0, 0, datetime(2026, 5, 20, tzinfo=UTC), events, {"user_agent": FIREFOX, "country": "GB"})
    events_store(batches=[replace(batch, property_id=prop.pk)])


def api(client, tenant, **params):
    response = client.get(
        f"/v1/properties/{tenant.property.public_id}/metrics",
        {"from": params.pop("date_from"), "to": params.pop("date_to"), **params},
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_cards_equal_the_api_for_both_periods_with_the_change(client, tenant_a):
    seed(tenant_a.property)
    cards = dashboard_cards(property=tenant_a.property, period=PERIOD, previous=PERIOD.previous(), filters=())
    metrics = ",".join(CARD_METRICS)
    [now] = api(client, tenant_a, date_from=PERIOD.date_from, date_to=PERIOD.date_to, metrics=metrics)
    [before] = api(client, tenant_a, date_from=date(2026, 5, 1), date_to=date(2026, 5, 7), metrics=metrics)
    assert [card["metric"] for card in cards] == list(CARD_METRICS)
    for card in cards:
        assert (card["value"], card["previous"]) == (now[card["metric"]], before[card["metric"]])
        expected = round(100.0 * (card["value"] - card["previous"]) / card["previous"], 1) if card["previous"] else None
        assert card["change"] == expected
    assert next(card for card in cards if card["metric"] == "bounce_rate")["lower_is_better"]


def test_the_series_has_every_bucket_with_the_previous_period_alongside(client, tenant_a):
    seed(tenant_a.property)
    elsewhere = [  # pageviews the country filter must leave out, in both periods
        validated_event(ts=f"{day}T12:00:00+00:00", visitor_id="fr", session_id=f"fr-{day}")
        for day in (date(2026, 5, 3), PERIOD.date_from)
    ]
    batch = AcceptedBatch(tenant_a.property.pk, 0, datetime(2026, 5, 20, tzinfo=UTC), elsewhere, {"country": "FR"})
    events_store(batches=[batch])
    series = dashboard_series(
        property=tenant_a.property,
        period=PERIOD,
        previous=PERIOD.previous(),
        filters=(Condition(IS, QUERY_DIMENSIONS["country"], ("GB",)),),
        metric="pageviews",
    )
    days = api(
        client,
        tenant_a,
        date_from=PERIOD.date_from,
        date_to=PERIOD.date_to,
        metrics="pageviews",
        interval="day",
        country="GB",
    )
    earlier = api(
        client,
        tenant_a,
        date_from=date(2026, 5, 1),
        date_to=date(2026, 5, 7),
        metrics="pageviews",
        interval="day",
        country="GB",
    )
    assert series["interval"] == "day"
    assert [(point["bucket"], point["value"], point["previous"]) for point in series["points"]] == [
        (date.fromisoformat(now["date"]), now["pageviews"], then["pageviews"])
        for now, then in zip(days, earlier, strict=True)
    ]


def test_a_panel_pages_through_the_apis_rows_with_shares(client, tenant_a):
    seed(tenant_a.property)
    common = {"property": tenant_a.property, "date_from": PERIOD.date_from, "date_to": PERIOD.date_to, "filters": ()}
    first = dashboard_panel(**common, panel=PANELS["pages"], limit=2)
    rest = dashboard_panel(**common, panel=PANELS["pages"], limit=2, offset=2)
    rows = api(
        client,
        tenant_a,
        date_from=PERIOD.date_from,
        date_to=PERIOD.date_to,
        metrics="pageviews",
        group_by="path",
        type="pageview",
    )
    assert [(row["value"], row["count"]) for row in first["rows"] + rest["rows"]] == [
        (row["path"], row["pageviews"]) for row in rows
    ]
    assert first["has_more"] and not rest["has_more"]
    total = sum(row["pageviews"] for row in rows)
    assert first["total"] == total
    assert first["rows"][0]["share"] == round(100.0 * rows[0]["pageviews"] / total, 1)


def test_the_custom_events_panel_leaves_pageviews_out(tenant_a):
    seed(tenant_a.property)
    panel = dashboard_panel(
        property=tenant_a.property,
        date_from=PERIOD.date_from,
        date_to=PERIOD.date_to,
        filters=(),
        panel=PANELS["events"],
        limit=10,
    )
    assert [(row["value"], row["count"], row["share"]) for row in panel["rows"]] == [("signup", 7, 100.0)]


def test_entry_pages_count_sessions_by_their_first_page(tenant_a):
    seed(tenant_a.property)
    panel = dashboard_panel(
        property=tenant_a.property,
        date_from=PERIOD.date_from,
        date_to=PERIOD.date_to,
        filters=(),
        panel=PANELS["entry_pages"],
        limit=10,
    )
    assert [row["value"] for row in panel["rows"]] == ["/"]
