"""Revenue goals: an event goal with a currency sums its events' `data.revenue` in that currency,
through /v1's query; a fraction sent as a JSON number is kept as decimal text at ingest. The
engine's equality with the oracle over drawn revenue goals is
tests/reports/queries/test_engine_equals_oracle.py."""

from datetime import UTC, datetime

import pytest

from apps.ingestion.schema import envelope_validate
from tests.reports.test_goals import goal_post
from tests.reports.test_query_apis import D1, D2, ask, event, store

pytestmark = pytest.mark.django_db
RANGE = [D1.isoformat(), D2.isoformat()]


@pytest.fixture
def shop(client, tenant_a):
    store(
        tenant_a,
        [
            event(D1, type="purchase", visitor="v1", utm_source="news", data={"revenue": "19.99", "currency": "EUR"}),
            event(D1, type="purchase", visitor="v2", data={"revenue": 5, "currency": "EUR"}),
            # Another currency, and no amount: conversions that add no euros.
            event(D2, type="purchase", visitor="v3", data={"revenue": "2.50", "currency": "USD"}),
            event(D2, type="purchase", visitor="v4", data={"revenue": "a lot", "currency": "EUR"}),
            event(D2, type="subscribe", visitor="v1", data={"revenue": "9", "currency": "GBP"}),
            event(D2, visitor="v5"),
        ],
    )
    for body in (
        {"name": "Purchase", "kind": "event", "event_type": "purchase", "currency": "EUR"},
        {"name": "Visit", "kind": "pageview", "path_pattern": "/"},
    ):
        assert goal_post(client, tenant_a, body).status_code == 201
    return tenant_a


def results(response) -> list:
    assert response.status_code == 200, response.content
    return [(row["dimensions"], row["metrics"]) for row in response.json()["results"]]


def test_revenue_sums_the_amounts_in_the_goals_currency(client, shop):
    body = {"metrics": ["conversions", "total_revenue", "average_revenue"], "date_range": RANGE}
    # Conversions: four purchases and v5's visit. Revenue: 19.99 + 5 over the two purchases in euros
    # (12.495 a purchase, to the cent half up); the dollars and "a lot" convert without revenue.
    assert results(ask(client, shop, body)) == [([], [5, 24.99, 12.5])]
    by_source = {**body, "dimensions": ["visit:utm_source"]}
    assert results(ask(client, shop, by_source)) == [([None], [4, 5.0, 5.0]), (["news"], [1, 19.99, 19.99])]
    by_goal = {**body, "dimensions": ["event:goal"]}
    # The pageview goal has no currency: its row has no revenue.
    assert results(ask(client, shop, by_goal)) == [(["Purchase"], [4, 24.99, 12.5]), (["Visit"], [1, 0.0, 0.0])]


def test_revenue_of_several_currencies_or_none_is_refused(client, shop):
    assert goal_post(client, shop, {"name": "Subscribe", "kind": "event", "event_type": "subscribe",
                                    "currency": "GBP"}).status_code == 201  # fmt: skip
    body = {"metrics": ["visitors", "total_revenue"], "date_range": RANGE}
    mixed = ask(client, shop, body)
    assert mixed.status_code == 400
    assert mixed.json()["error"]["field"] == "metrics[1]"
    assert "EUR, GBP" in mixed.json()["error"]["message"]
    # A goal filter chooses one currency.
    subscriptions = {**body, "filters": [["is", "event:goal", ["Subscribe"]]]}
    assert results(ask(client, shop, subscriptions)) == [([], [1, 9.0])]
    visits = {**body, "filters": [["is", "event:goal", ["Visit"]]]}
    assert ask(client, shop, visits).json()["error"]["field"] == "metrics[1]"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "kind": "event", "event_type": "purchase", "currency": "eur"}, "currency"),
        ({"name": "A", "kind": "event", "event_type": "purchase", "currency": "EURO"}, "currency"),
        ({"name": "A", "kind": "pageview", "path_pattern": "/", "currency": "EUR"}, "currency"),
    ],
)
def test_a_currency_is_an_iso_code_of_an_event_goal(client, tenant_a, body, field):
    response = goal_post(client, tenant_a, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_a_fraction_sent_as_a_number_is_kept_as_decimal_text():
    received = datetime.now(UTC)
    sent = [{"type": "purchase", "data": {"revenue": amount, "currency": "EUR"}} for amount in (19.99, 0.1, 1e-7, 5)]
    batch = envelope_validate({"schema_version": 1, "property_id": "p", "events": sent}, received_at=received)
    assert [e["data"]["revenue"] for e in batch.events] == ["19.99", "0.1", "0.0000001", 5]
