"""Plausible's CSV export imported: its totals are the files' totals in every report that can show
them (by day, week or month, by one dimension, filtered on it), beside raw events of the same days;
what cannot show them says so; bad files fail whole, naming file and line; deleted with the import."""

import io
import json
import re
import zipfile
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from apps.imports.models import Import
from apps.imports.services import import_create, import_delete, import_run
from apps.properties.services import property_update
from apps.reports.models import ImportedDay
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import query_parse
from apps.reports.templatetags.dashboard import metric_value
from devtools.plausible import export_zip
from tests.conftest import session_client_for
from tests.imports.plausible_exports import sample_export
from tests.reports.test_query_apis import event, store

pytestmark = pytest.mark.django_db

FIRST = date(2025, 1, 6)  # a Monday
DAYS = 20
LAST = FIRST + timedelta(days=DAYS - 1)
RANGE = [FIRST.isoformat(), LAST.isoformat()]
VISIT_METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "views_per_visit"]


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def imported(tenant, content: bytes, name: str = "example_com_20250126.zip") -> Import:
    file = ContentFile(content, name=name)
    return import_run(import_create(property=tenant.property, source=Import.Source.PLAUSIBLE, file=file))


def ask(client, tenant, body):
    response = client.post(
        f"/v1/properties/{tenant.property.public_id}/query",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )
    assert response.status_code == 200, response.content
    return response.json()


def of_visits(rows: list[dict]) -> list:
    """What a report shows of rows of a visit table: their sums, and the ratios of the sums."""
    summed = {name: sum(int(row[name]) for row in rows) for name in ("visitors", "visits", "pageviews", "bounces")}
    duration = sum(int(row["visit_duration"]) for row in rows)
    visits = summed["visits"]
    return [
        summed["visitors"],
        visits,
        summed["pageviews"],
        round(100 * summed["bounces"] / visits, 1),
        round(duration / visits),
        round(summed["pageviews"] / visits, 2),
    ]


def test_the_imported_totals_are_the_files_totals_in_every_report_that_can_show_them(client, tenant_a):
    tables = sample_export(seed=7, first=FIRST, days=DAYS)
    done = imported(tenant_a, export_zip(tables, FIRST, LAST))
    assert done.status == Import.Status.DONE, done.error
    custom = [row for row in tables["custom_events"] if row["name"] != "engagement"]
    pageviews = sum(row["pageviews"] for row in tables["visitors"])
    assert (done.first_day, done.last_day) == (FIRST, LAST)
    assert done.events == pageviews + sum(row["events"] for row in custom)

    whole = ask(client, tenant_a, {"metrics": [*VISIT_METRICS, "events"], "date_range": RANGE})
    assert whole["results"][0]["metrics"] == [*of_visits(tables["visitors"]), done.events]
    assert whole["meta"]["imports_included"] is True

    by_day = ask(client, tenant_a, {"metrics": VISIT_METRICS, "date_range": RANGE, "dimensions": ["time:day"]})
    assert by_day["results"] == [
        {"dimensions": [row["date"]], "metrics": of_visits([row])} for row in tables["visitors"]
    ]
    by_week = ask(client, tenant_a, {"metrics": ["visitors"], "date_range": RANGE, "dimensions": ["time:week"]})
    weeks = defaultdict(int)
    for row in tables["visitors"]:
        day = date.fromisoformat(row["date"])
        weeks[(day - timedelta(days=day.weekday())).isoformat()] += row["visitors"]
    assert {r["dimensions"][0]: r["metrics"][0] for r in by_week["results"]} == weeks

    for dimension, table, column, value, shown in [
        ("visit:source", "sources", "source", "Google", "Google"),
        ("visit:source", "sources", "source", "", None),
        ("visit:referrer", "sources", "referrer", "news.ycombinator.com/item", "news.ycombinator.com"),
        ("visit:utm_campaign", "sources", "utm_campaign", "spring", "spring"),
        ("visit:entry_page", "entry_pages", "entry_page", "/pricing", "/pricing"),
        ("visit:exit_page", "exit_pages", "exit_page", "/signup", "/signup"),
        ("visit:country", "locations", "country", "EE", "EE"),
        ("visit:region", "locations", "region", "US-CA", "US-CA"),
        ("visit:browser", "browsers", "browser", "Firefox", "Firefox"),
        ("visit:os", "operating_systems", "operating_system", "Mac", "Mac"),
        ("visit:device", "devices", "device", "Mobile", "mobile"),
    ]:
        rows = [row for row in tables[table] if row.get(column, "") == value]
        if table == "entry_pages":
            rows = [{**row, "visits": row["entrances"]} for row in rows]
        if table == "exit_pages":
            rows = [{**row, "visits": row["exits"]} for row in rows]
        answer = ask(client, tenant_a, {"metrics": VISIT_METRICS, "date_range": RANGE, "dimensions": [dimension]})
        found = {tuple(r["dimensions"]): r["metrics"] for r in answer["results"]}
        assert found[(shown,)] == of_visits(rows), dimension
        filtered = ask(
            client,
            tenant_a,
            {"metrics": VISIT_METRICS, "date_range": RANGE, "filters": [["is", dimension, [shown or ""]]]},
        )
        assert filtered["results"][0]["metrics"] == of_visits(rows), dimension

    # Plausible's laptops are desktops here.
    devices = ask(client, tenant_a, {"metrics": ["visits"], "date_range": RANGE, "dimensions": ["visit:device"]})
    desktop = sum(row["visits"] for row in tables["devices"] if row["device"] in ("Desktop", "Laptop"))
    assert {"dimensions": ["desktop"], "metrics": [desktop]} in devices["results"]

    pages = ask(
        client, tenant_a, {"metrics": ["visitors", "pageviews"], "date_range": RANGE, "dimensions": ["event:page"]}
    )
    pricing = [row for row in tables["pages"] if row["page"] == "/pricing"]
    assert {
        "dimensions": ["/pricing"],
        "metrics": [sum(r["visitors"] for r in pricing), sum(r["pageviews"] for r in pricing)],
    } in pages["results"]

    names = ask(client, tenant_a, {"metrics": ["events"], "date_range": RANGE, "dimensions": ["event:name"]})
    by_name = {r["dimensions"][0]: r["metrics"][0] for r in names["results"]}
    assert by_name == {
        "pageview": pageviews,
        "Signup": sum(r["events"] for r in custom if r["name"] == "Signup"),
        "Outbound Link: Click": sum(r["events"] for r in custom if r["name"] == "Outbound Link: Click"),
    }


def test_plausible_s_stats_api_says_whether_the_imports_are_in(client, tenant_a):
    property_update(property=tenant_a.property, domains=["example.com"])
    assert (
        imported(tenant_a, export_zip(sample_export(seed=1, first=FIRST, days=3), FIRST, FIRST + timedelta(2))).status
        == Import.Status.DONE
    )
    body = {"site_id": "example.com", "metrics": ["visitors"], "date_range": [FIRST.isoformat(), FIRST.isoformat()]}

    def plausible(**include):
        response = client.post(
            "/api/v2/query",
            data=json.dumps({**body, "include": include} if include else body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}",
        )
        assert response.status_code == 200, response.content
        return response.json()

    day = sample_export(seed=1, first=FIRST, days=3)["visitors"][0]
    # As Plausible: imported data only when asked for.
    assert plausible()["results"] == [{"dimensions": [], "metrics": [0]}]
    answer = plausible(imports=True)
    assert answer["results"] == [{"dimensions": [], "metrics": [day["visitors"]]}]
    assert answer["meta"]["imports_included"] is True
    hourly = client.post(
        "/api/v2/query",
        data=json.dumps({**body, "dimensions": ["time:hour"], "include": {"imports": True}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.read_key}",
    ).json()
    assert hourly["meta"]["imports_included"] is False
    assert hourly["meta"]["imports_skip_reason"] == "unsupported_query"
    assert "time:hour" in hourly["meta"]["imports_warning"]


def test_raw_events_and_imported_totals_of_the_same_days_add_up(client, tenant_a):
    tables = sample_export(seed=3, first=FIRST, days=2)
    assert imported(tenant_a, export_zip(tables, FIRST, FIRST + timedelta(1))).status == Import.Status.DONE
    # One visit of one pageview on the first day, from Google.
    store(tenant_a, [event(FIRST, path="/", visitor="r1", session="r1", referrer="https://www.google.com/")])
    day = tables["visitors"][0]
    answer = ask(client, tenant_a, {"metrics": VISIT_METRICS, "date_range": [FIRST.isoformat()] * 2})
    raw = {"visitors": 1, "visits": 1, "pageviews": 1, "bounces": 1, "visit_duration": 0}
    assert answer["results"][0]["metrics"] == of_visits([day, raw])
    google = [row for row in tables["sources"] if row["source"] == "Google" and row["date"] == FIRST.isoformat()]
    sources = ask(
        client,
        tenant_a,
        {"metrics": VISIT_METRICS, "date_range": [FIRST.isoformat()] * 2, "dimensions": ["visit:source"]},
    )
    assert {"dimensions": ["Google"], "metrics": of_visits([*google, raw])} in sources["results"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"dimensions": ["time:hour"]}, "time:hour"),
        ({"dimensions": ["visit:source", "visit:country"]}, "one dimension at a time"),
        ({"dimensions": ["visit:source"], "filters": [["is", "visit:country", ["EE"]]]}, "one dimension at a time"),
        ({"dimensions": ["visit:city"]}, "no visit:city"),
        ({"dimensions": ["event:page"], "metrics": ["bounce_rate"]}, "no bounce_rate by event:page"),
        ({"metrics": ["events:Signup"]}, "no goals or counts of one event type"),
    ],
)
def test_a_report_that_cannot_show_imported_totals_says_why(client, tenant_a, body, why):
    assert (
        imported(tenant_a, export_zip(sample_export(seed=2, first=FIRST, days=2), FIRST, FIRST + timedelta(1))).status
        == Import.Status.DONE
    )
    answer = ask(client, tenant_a, {"metrics": ["visitors"], "date_range": RANGE, **body})
    assert answer["meta"]["imports_included"] is False
    assert why in answer["meta"]["imports_warning"]


def test_a_query_may_leave_the_imports_out(client, tenant_a):
    assert (
        imported(tenant_a, export_zip(sample_export(seed=2, first=FIRST, days=2), FIRST, FIRST + timedelta(1))).status
        == Import.Status.DONE
    )
    answer = ask(client, tenant_a, {"metrics": ["visitors"], "date_range": RANGE, "include": {"imports": False}})
    assert answer["results"] == [{"dimensions": [], "metrics": [0]}]
    assert answer["meta"]["imports_included"] is False
    assert "imports_warning" not in answer["meta"]


def test_deleting_the_import_takes_its_totals_out_of_the_reports_at_once(settings, tenant_a):
    settings.CLICKMETER_REPORT_CACHE_SECONDS = 3600
    done = imported(tenant_a, export_zip(sample_export(seed=4, first=FIRST, days=2), FIRST, FIRST + timedelta(1)))
    query = query_parse({"metrics": ["visitors"], "date_range": RANGE})
    assert query_answer(property=tenant_a.property, query=query).rows[0]["metrics"][0] > 0
    import_delete(import_=done)
    assert not ImportedDay.objects.filter(property=tenant_a.property).exists()
    assert query_answer(property=tenant_a.property, query=query).rows == [{"dimensions": [], "metrics": [0]}]


def test_the_command_imports_a_plausible_export_with_its_files_named_without_imported(tenant_a, tmp_path):
    tables = sample_export(seed=5, first=FIRST, days=2)
    path = tmp_path / "export.zip"
    path.write_bytes(export_zip(tables, FIRST, FIRST + timedelta(1), prefix=""))
    call_command("events_import", tenant_a.property.public_id, str(path), "--source", "plausible")
    done = Import.objects.for_user(tenant_a.owner).get()
    assert done.status == Import.Status.DONE
    query = query_parse({"metrics": ["visitors"], "date_range": RANGE})
    assert query_answer(property=tenant_a.property, query=query).rows[0]["metrics"] == [
        sum(row["visitors"] for row in tables["visitors"])
    ]


def damaged(tables: dict, table: str, line: int, column: str, value: str) -> dict:
    rows = [dict(row) for row in tables[table]]
    rows[line - 2][column] = value
    return {**tables, table: rows}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda t: damaged(t, "sources", 3, "visitors", "12.5"),
            "imported_sources_20250106_20250107.csv, line 3: visitors must be a whole number",
        ),
        (
            lambda t: damaged(t, "devices", 2, "visits", "-1"),
            "imported_devices_20250106_20250107.csv, line 2: visits must be",
        ),
        (
            lambda t: damaged(t, "pages", 4, "date", "06/01/2025"),
            "imported_pages_20250106_20250107.csv, line 4: date must be a day",
        ),
        (lambda t: {k: v for k, v in t.items() if k != "visitors"}, "no imported_visitors"),
    ],
)
def test_a_bad_file_fails_the_import_naming_file_and_line_and_keeps_nothing(tenant_a, change, error):
    tables = change(sample_export(seed=6, first=FIRST, days=2))
    done = imported(tenant_a, export_zip(tables, FIRST, FIRST + timedelta(1)))
    assert done.status == Import.Status.FAILED
    assert error in done.error
    assert not ImportedDay.objects.exists()


def test_a_zip_with_another_file_or_cut_off_fails_naming_it(tenant_a):
    content = export_zip(sample_export(seed=6, first=FIRST, days=2), FIRST, FIRST + timedelta(1))
    done = imported(tenant_a, content[: len(content) // 2])
    assert done.status == Import.Status.FAILED
    assert "example_com_20250126.zip" in done.error
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "hello")
    done = imported(tenant_a, other.getvalue())
    assert done.status == Import.Status.FAILED
    assert "notes.txt: not a file of Plausible's CSV export" in done.error
    assert not ImportedDay.objects.exists()


def test_the_dashboard_shows_the_imported_totals_and_says_they_are_imported(tenant_a):
    tables = sample_export(seed=8, first=FIRST, days=DAYS)
    assert imported(tenant_a, export_zip(tables, FIRST, LAST)).status == Import.Status.DONE
    path = f"/properties/{tenant_a.property.public_id}/?range=custom&from={FIRST}&to={LAST}"
    html = session_client_for(tenant_a.owner).get(path).content.decode()
    visitors = sum(row["visitors"] for row in tables["visitors"])
    shown = re.search(r'id="card-unique_visitors".*?class="metric-value">([^<]*)<', html, re.S)
    assert shown is not None and shown[1] == metric_value(visitors, "unique_visitors")
    assert "Includes imported daily totals for 6 Jan 2025 \u2013 25 Jan 2025" in html
    later = session_client_for(tenant_a.owner).get(f"/properties/{tenant_a.property.public_id}/?range=7d")
    assert b"imported-note" not in later.content


def test_imported_pages_are_pageviews_for_a_filter_on_the_event_name(client, tenant_a):
    tables = sample_export(seed=9, first=FIRST, days=3)
    assert imported(tenant_a, export_zip(tables, FIRST, FIRST + timedelta(2))).status == Import.Status.DONE
    span = [FIRST.isoformat(), (FIRST + timedelta(2)).isoformat()]
    body = {"metrics": ["pageviews"], "date_range": span, "dimensions": ["event:page"]}
    # The dashboard's Top pages: pages of pageviews.
    pages = ask(client, tenant_a, {**body, "filters": [["is", "event:name", ["pageview"]]]})
    assert pages["meta"]["imports_included"] is True
    pricing = sum(row["pageviews"] for row in tables["pages"] if row["page"] == "/pricing")
    assert {"dimensions": ["/pricing"], "metrics": [pricing]} in pages["results"]
    signups = ask(client, tenant_a, {**body, "filters": [["is", "event:name", ["Signup"]]]})
    assert signups["meta"]["imports_included"] is True and signups["results"] == []
