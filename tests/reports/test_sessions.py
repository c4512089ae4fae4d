"""Sessions one by one through their API and their pages: five visits worked out in the comments
(a campaign splitting a session, a referrer, a custom event), newest first and whole, page by page,
filtered as every report filters; one visit with its events in order; permissions, other tenants, and
every invalid request a 400 naming its field (the list's equality with the oracle over drawn
histories, on every store, is tests/reports/queries/test_engine_equals_oracle.py)."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.goals.services import goal_create
from apps.reports.views import sessions as session_views
from devtools.events import validated_event
from tests.conftest import jwt_for, session_client_for

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, tzinfo=UTC)
DAYS = {"from": "2026-03-01", "to": "2026-03-02"}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def event(minutes: int, visitor: str, path: str = "/", **fields) -> dict:
    return validated_event(
        ts=(NOON + timedelta(minutes=minutes)).isoformat(),
        url=f"https://example.com{path}",
        path=path,
        visitor_id=visitor,
        session_id="s",
        **fields,
    )


@pytest.fixture
def visits(tenant_a):
    from_london = {"user_agent": FIREFOX, "country": "GB", "region": "GB-ENG", "city": "London"}
    batches = [
        # v1: from Google, two pages and a signup (12:00 to 12:02), in London on Firefox.
        [
            event(0, "v1", referrer="https://www.google.com/"),
            event(1, "v1", "/pricing"),
            event(2, "v1", "/pricing", type="signup"),
        ],
        # v2: the home page twice (12:05, 12:06).
        [event(5, "v2"), event(6, "v2")],
        # v3: the home page at 13:00, then a campaign link at 13:10 opens a second visit.
        [event(60, "v3"), event(70, "v3", "/promo", utm_campaign="spring"), event(71, "v3", "/pricing")],
        # v4: the day before, one page.
        [event(-24 * 60, "v4", "/docs")],
    ]
    contexts = [from_london, {}, {}, {}]
    events_store(
        batches=[
            AcceptedBatch(tenant_a.property.pk, 0, NOON, batch, context)
            for batch, context in zip(batches, contexts, strict=True)
        ]
    )
    goal_create(property=tenant_a.property, name="Signup", kind="event", event_type="signup")
    return tenant_a


def sessions_ask(client, tenant, key=None, **params):
    return client.get(
        f"/v1/properties/{tenant.property.public_id}/sessions",
        params,
        HTTP_AUTHORIZATION=f"Bearer {key or tenant.read_key}",
    )


def listed(client, tenant, **params) -> list[dict]:
    response = sessions_ask(client, tenant, **params)
    assert response.status_code == 200, response.content
    return response.json()["sessions"]


def at(minutes: int) -> str:
    return (NOON + timedelta(minutes=minutes)).isoformat()


def test_the_list_is_every_session_newest_first_each_whole(client, visits):
    sessions = listed(client, visits, **DAYS)
    assert [(s["started_at"], s["entry_page"], s["exit_page"], s["pageviews"], s["events"]) for s in sessions] == [
        (at(70), "/promo", "/pricing", 2, 2),
        (at(60), "/", "/", 1, 1),
        (at(5), "/", "/", 2, 2),
        (at(0), "/", "/pricing", 2, 3),
        (at(-24 * 60), "/docs", "/docs", 1, 1),
    ]
    v1 = sessions[3]
    assert v1 == {
        **v1,
        "ended_at": at(2),
        "duration": 120,
        "source": "Google",
        "referrer": "google.com",
        "channel": "organic search",
        "country": "GB",
        "region": "GB-ENG",
        "city": "London",
        "browser": "Firefox",
        "os": "Linux",
        "device": "desktop",
    }
    assert re.fullmatch(r"2026-03-02\.-?\d+", v1["id"])
    # The campaign's visit carries it; the visit it split from does not.
    assert (sessions[0]["utm_campaign"], sessions[0]["campaign"], sessions[1]["utm_campaign"]) == (
        "spring",
        "spring",
        "",
    )
    assert sessions[0]["id"] != sessions[1]["id"]
    assert [s["started_at"] for s in listed(client, visits, **{"from": "2026-03-01", "to": "2026-03-01"})] == [
        at(-24 * 60)
    ]


def test_pages_hold_every_session_once_in_json_and_ndjson(client, visits):
    whole = listed(client, visits, **DAYS)
    found, cursor = [], None
    while True:
        body = sessions_ask(client, visits, **DAYS, limit=2, **({"cursor": cursor} if cursor else {})).json()
        assert len(body["sessions"]) <= 2
        found += body["sessions"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert found == whole
    lines = sessions_ask(client, visits, **DAYS, format="ndjson", limit=3)
    assert lines["Content-Type"].startswith("application/x-ndjson")
    assert [json.loads(line) for line in lines.content.splitlines()] == whole[:3]
    rest = sessions_ask(client, visits, **DAYS, format="ndjson", cursor=lines["Clickmeter-Next-Cursor"])
    assert [json.loads(line) for line in rest.content.splitlines()] == whole[3:]
    assert "Clickmeter-Next-Cursor" not in rest


def test_filters_keep_the_sessions_with_a_matching_event_listed_whole(client, visits):
    def starts(*filters) -> list[str]:
        return [s["started_at"] for s in listed(client, visits, **DAYS, filters=json.dumps(list(filters)))]

    assert starts(["is", "visit:utm_campaign", ["spring"]]) == [at(70)]
    assert starts(["is", "event:page", ["/pricing"]]) == [at(70), at(0)]
    assert starts(["is", "event:goal", ["Signup"]]) == [at(0)]
    assert starts(["is", "visit:country", ["GB"]], ["is", "event:name", ["pageview"]]) == [at(0)]
    assert starts(["not", ["is", "visit:entry_page", ["/"]]]) == [at(70), at(-24 * 60)]
    # Listed whole: the signup's visit with its pageviews.
    [signed_up] = listed(client, visits, **DAYS, filters=json.dumps([["is", "event:name", ["signup"]]]))
    assert (signed_up["pageviews"], signed_up["events"]) == (2, 3)


def test_a_session_is_given_with_its_events_in_order(client, visits):
    [v1] = listed(client, visits, **DAYS, filters=json.dumps([["is", "visit:source", ["Google"]]]))
    response = client.get(
        f"/v1/properties/{visits.property.public_id}/sessions/{v1['id']}",
        HTTP_AUTHORIZATION=f"Bearer {jwt_for(visits.viewer)}",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["session"] == v1
    assert [(e["ts"], e["type"], e["hostname"], e["path"], e["data"]) for e in body["events"]] == [
        (at(0), "pageview", "example.com", "/", {}),
        (at(1), "pageview", "example.com", "/pricing", {}),
        (at(2), "signup", "example.com", "/pricing", {}),
    ]
    day, key = v1["id"].split(".")
    for missing in (f"{day}.{int(key) + 1}", f"2026-03-01.{key}", "nonsense", f"{day}.99999999999999999999", "."):
        answer = client.get(
            f"/v1/properties/{visits.property.public_id}/sessions/{missing}",
            HTTP_AUTHORIZATION=f"Bearer {visits.read_key}",
        )
        assert answer.status_code == 404, missing
        assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
        ({"filters": "not json"}, "filters"),
        ({"filters": '{"is": 1}'}, "filters"),
        ({"filters": '[["is", "visit:colour", ["red"]]]'}, "filters[0][1]"),
        ({"filters": '[["matches", "event:page", ["(a+)+"]]]'}, "filters[0][2][0]"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
        ({"format": "csv"}, "format"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, tenant_a, params, field):
    response = sessions_ask(client, tenant_a, **params)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_the_read_key_and_members_see_the_sessions_and_nobody_else(client, visits, tenant_b):
    assert len(listed(client, visits, key=jwt_for(visits.viewer), **DAYS)) == 5
    [one] = listed(client, visits, **DAYS, limit=1)
    detail = f"/v1/properties/{visits.property.public_id}/sessions/{one['id']}"
    for key in (tenant_b.read_key, jwt_for(tenant_b.owner)):
        assert sessions_ask(client, visits, key=key, **DAYS).status_code == 404
        assert client.get(detail, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 404
    assert sessions_ask(client, visits, key=visits.write_key).status_code == 401
    assert client.get(f"/v1/properties/{visits.property.public_id}/sessions").status_code == 401
    assert client.get(detail).status_code == 401
    # Another property's list does not hold them.
    assert listed(client, tenant_b, **DAYS) == []


# The dashboard's sessions pages.


def sessions_page(tenant, query: str = "", *, user=None):
    return session_client_for(user or tenant.viewer).get(f"/properties/{tenant.property.public_id}/sessions/{query}")


ROW = re.compile(r'<tr data-session="([^"]+)">(.*?)</tr>', re.S)


def rows_of(html: str) -> list[tuple[str, list[str]]]:
    """Each listed session as (its id, its cells' text)."""
    return [
        (visit_id, [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)])
        for visit_id, row in ROW.findall(html)
    ]


def test_the_page_lists_the_sessions_of_the_period_and_filters_newest_first(client, visits):
    api = listed(client, visits, **DAYS)
    html = sessions_page(visits, "?from=2026-03-01&to=2026-03-02").content.decode()
    rows = rows_of(html)
    assert [visit_id for visit_id, _ in rows] == [s["id"] for s in api]
    assert rows[3][1] == ["2 Mar, 12:00:00", "2m 00s", "/", "/pricing", "2", "3", "Google", "🇬🇧 GB", "desktop",
                          "Firefox", "Linux"]  # fmt: skip
    assert rows[2][1][:7] == ["2 Mar, 12:05:00", "1m 00s", "/", "/", "2", "2", "Direct / none"]
    filtered = sessions_page(visits, "?from=2026-03-01&to=2026-03-02&f_country=GB").content.decode()
    assert [visit_id for visit_id, _ in rows_of(filtered)] == [api[3]["id"]]
    assert "Country" in filtered and "GB" in filtered  # the chip
    empty = sessions_page(visits, "?from=2026-03-01&to=2026-03-02&f_path=/nowhere").content.decode()
    assert "No session in this period with these filters." in empty
    dashboard = session_client_for(visits.viewer).get(f"/properties/{visits.property.public_id}/?range=7d")
    assert f'href="/properties/{visits.property.public_id}/sessions/?range=7d"' in dashboard.content.decode()


def test_the_page_goes_to_older_sessions_and_back_to_the_newest(visits, monkeypatch):
    monkeypatch.setattr(session_views, "PAGE_VISITS", 2)
    seen, query = [], "?from=2026-03-01&to=2026-03-02"
    while True:
        html = sessions_page(visits, query).content.decode()
        seen += [visit_id for visit_id, _ in rows_of(html)]
        older = re.search(r'<a href="([^"]+)" rel="next">Older sessions</a>', html)
        if older is None:
            break
        query = older.group(1).replace("&amp;", "&")
        assert "from=2026-03-01" in query
        assert re.search(r'<a href="\?from=2026-03-01&amp;to=2026-03-02" rel="first">Newest sessions</a>', html) or (
            len(seen) == 2
        )
    assert len(seen) == len(set(seen)) == 5
    assert sessions_page(visits, "?before=garbage").status_code == 400


def test_a_session_page_shows_its_events_in_order_and_leads_back_to_the_list(client, visits):
    [v3_second] = listed(client, visits, **DAYS, filters=json.dumps([["is", "visit:utm_campaign", ["spring"]]]))
    page = session_client_for(visits.viewer).get(
        f"/properties/{visits.property.public_id}/sessions/{v3_second['id']}?from=2026-03-01&to=2026-03-02"
    )
    assert page.status_code == 200
    html = page.content.decode()
    events = re.findall(r"<tr>\s*<td><time[^>]*>([^<]*)</time></td>\s*<td>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>", html)
    assert events == [("13:10:00", "pageview", "/promo"), ("13:11:00", "pageview", "/pricing")]
    assert 'data-fact="duration">1m 00s<' in html and 'data-fact="events">2<' in html
    assert f'href="/properties/{visits.property.public_id}/sessions/?from=2026-03-01&amp;to=2026-03-02"' in html
    missing = session_client_for(visits.viewer).get(f"/properties/{visits.property.public_id}/sessions/2026-03-02.1")
    assert missing.status_code == 404


def test_members_of_another_organisation_see_no_sessions_page(client, visits, tenant_b):
    [one] = listed(client, visits, **DAYS, limit=1)
    for path in ("sessions/", f"sessions/{one['id']}"):
        url = f"/properties/{visits.property.public_id}/{path}"
        assert session_client_for(tenant_b.viewer).get(url).status_code == 404
        assert session_client_for(visits.viewer).get(url).status_code == 200
