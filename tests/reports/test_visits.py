"""Which events make a visit, and which of them gives it its source, campaign, entry and exit page.

Events sent through `POST /v1/events` and read back through the reporting API, before and after
the rollup refresh: a new campaign mid-session starts a new visit, and events of the same time
are taken in the order they were received, never in the order of their random ids.
"""

import json

import pytest

from apps.reports.services import rollup_refresh_dirty_days

pytestmark = pytest.mark.django_db

DAY = "2026-05-04"


def send(client, tenant, events: list[dict]):
    envelope = {"property_id": tenant.property.public_id, "events": events}
    response = client.post(
        "/v1/events", json.dumps(envelope), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}",
    )  # fmt: skip
    assert response.status_code == 202 and response.json()["rejected"] == 0, response.content


def pageview(event_id: str, second: int, url: str, *, referrer: str = "", session: str = "s1", **campaign) -> dict:
    return {
        "event_id": event_id,
        "type": "pageview",
        "ts": f"{DAY}T10:00:{second:02d}Z",
        "context": {"page": {"url": url, "referrer": referrer}, **({"campaign": campaign} if campaign else {})},
        "identity": {"visitor_id": "v1", "session_id": session},
    }


def report(client, tenant, name: str, **params) -> dict:
    response = client.get(
        f"/v1/properties/{tenant.property.public_id}/{name}",
        {"from": DAY, "to": DAY, **params},
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture(params=["raw", "rolled up"])
def rolled_up(request):
    """Run the test's reports on raw events, then again after the rollup refresh."""
    return request.param == "rolled up"


def test_a_campaign_link_opened_mid_session_starts_a_visit_of_its_own(client, tenant_a, rolled_up):
    send(client, tenant_a, [pageview("e1", 0, "https://example.com/"), pageview("e2", 10, "https://example.com/a")])
    # The visitor opens a newsletter link in the same tab: same session id, an explicit campaign.
    send(
        client,
        tenant_a,
        [
            pageview("e3", 20, "https://example.com/offer?utm_source=newsletter&utm_medium=email&utm_campaign=may"),
            pageview("e4", 30, "https://example.com/checkout", referrer="https://example.com/offer"),
        ],
    )
    # A server-side sender reports the purchase with its campaign id: a campaign other than the last.
    send(client, tenant_a, [pageview("e5", 40, "https://example.com/thanks", campaign_id="cmp_789")])
    if rolled_up:
        rollup_refresh_dirty_days(quiet_seconds=0)

    overview = report(client, tenant_a, "overview")
    assert (overview["pageviews"], overview["unique_visitors"], overview["sessions"]) == (5, 1, 3)
    campaigns = report(client, tenant_a, "campaigns")["results"]
    assert campaigns == [
        {"campaign_id": "may", "pageviews": 2, "unique_visitors": 1},
        {"campaign_id": "cmp_789", "pageviews": 1, "unique_visitors": 1},
    ]
    entries = report(client, tenant_a, "metrics", group_by="entry_page", metrics="sessions")["results"]
    assert sorted((row["entry_page"], row["sessions"]) for row in entries) == [("/", 1), ("/offer", 1), ("/thanks", 1)]
    channels = report(client, tenant_a, "metrics", group_by="channel", metrics="pageviews,sessions")["results"]
    assert sorted((row["channel"], row["pageviews"], row["sessions"]) for row in channels) == [
        ("direct", 3, 2),
        ("email", 2, 1),
    ]


def test_the_same_campaign_again_continues_the_visit(client, tenant_a, rolled_up):
    landing = "https://example.com/?utm_source=newsletter&utm_campaign=may"
    send(
        client,
        tenant_a,
        [
            pageview("e1", 0, landing),
            pageview("e2", 10, "https://example.com/a", referrer=landing),
            pageview("e3", 20, landing, referrer="https://example.com/a"),
        ],
    )
    if rolled_up:
        rollup_refresh_dirty_days(quiet_seconds=0)
    assert report(client, tenant_a, "campaigns")["results"] == [
        {"campaign_id": "may", "pageviews": 3, "unique_visitors": 1}
    ]
    assert report(client, tenant_a, "overview")["sessions"] == 1


@pytest.mark.parametrize("ids", [("a-first", "z-second"), ("z-first", "a-second")])
def test_events_of_the_same_second_are_taken_in_the_order_received(client, tenant_a, rolled_up, ids):
    """A landing from Google with a campaign, then a self-referral in the same second: whatever the
    order of their ids, the visit is Google's and the campaign's, and it entered at the landing page."""
    landing, internal = ids
    send(
        client,
        tenant_a,
        [
            pageview(landing, 5, "https://example.com/spring?utm_campaign=spring", referrer="https://www.google.com/"),
            pageview(internal, 5, "https://example.com/pricing", referrer="https://example.com/spring"),
        ],
    )
    if rolled_up:
        rollup_refresh_dirty_days(quiet_seconds=0)
    sources = report(client, tenant_a, "metrics", group_by="source,campaign_id", metrics="pageviews,sessions")
    assert sources["results"] == [{"campaign_id": "spring", "source": "Google", "pageviews": 2, "sessions": 1}]
    entry = report(client, tenant_a, "metrics", group_by="entry_page", metrics="sessions")["results"]
    exit_ = report(client, tenant_a, "metrics", group_by="exit_page", metrics="sessions")["results"]
    assert (entry[0]["entry_page"], exit_[0]["exit_page"]) == ("/spring", "/pricing")


def test_batches_received_later_come_later_among_events_of_the_same_time(client, tenant_a, rolled_up):
    send(client, tenant_a, [pageview("z1", 5, "https://example.com/first", referrer="https://t.co/x")])
    send(client, tenant_a, [pageview("a2", 5, "https://example.com/second", referrer="https://www.google.com/")])
    if rolled_up:
        rollup_refresh_dirty_days(quiet_seconds=0)
    sources = report(client, tenant_a, "metrics", group_by="source", metrics="pageviews")["results"]
    assert sources == [{"source": "X (Twitter)", "pageviews": 2}]


def visits_by_entry_page(client, tenant) -> list[dict]:
    """Visits and events with a click on "buy", by entry page: a query on a custom property, which
    reads raw events in their visits."""
    query = {
        "metrics": ["visits", "events"],
        "date_range": [DAY, DAY],
        "dimensions": ["visit:entry_page"],
        "filters": [["is", "event:props:button", ["buy"]]],
    }
    response = client.post(
        f"/v1/properties/{tenant.property.public_id}/query",
        data=json.dumps(query),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_an_event_received_late_that_splits_a_visit_rekeys_the_events_after_it(client, tenant_a):
    """Raw events are read in their visits by the keys the rollup refresh stored on clean days: a
    late event that starts a new visit before stored events must move them to it, on its dirty
    day and after the next refresh alike."""
    click = {**pageview("e2", 30, "https://example.com/"), "type": "click", "data": {"button": "buy"}}
    send(client, tenant_a, [pageview("e1", 0, "https://example.com/"), click])
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/"], "metrics": [1, 1]}]
    # Received later, sent before the click: a campaign that starts the click's visit.
    send(client, tenant_a, [pageview("e3", 20, "https://example.com/offer?utm_source=news&utm_campaign=may")])
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/offer"], "metrics": [1, 1]}], "keys computed"
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/offer"], "metrics": [1, 1]}], "keys stored"
    # Another campaign in between: the click's stored key is stale until the refresh rewrites it.
    send(client, tenant_a, [pageview("e4", 25, "https://example.com/june?utm_source=news&utm_campaign=june")])
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/june"], "metrics": [1, 1]}], "keys computed"
    rollup_refresh_dirty_days(quiet_seconds=0)
    assert visits_by_entry_page(client, tenant_a) == [{"dimensions": ["/june"], "metrics": [1, 1]}], "keys rewritten"
