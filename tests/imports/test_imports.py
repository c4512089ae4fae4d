"""Imports and exports through their doors: the API, the commands, the admin's upload; bad files fail
whole, naming file and line; an import is deleted with its events; Umami's events come in."""

import csv
import gzip
import io
import json
import zipfile
from datetime import UTC, date, datetime

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from apps.imports.models import Import
from apps.imports.services import import_create, import_delete, import_run
from apps.ingestion.models import Event
from apps.reports.queries.engine import query_answer
from apps.reports.queries.query import query_parse
from apps.reports.services import rollup_refresh_dirty_days
from tests.conftest import session_client_for, tenant_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def ingest(client, tenant, events):
    body = json.dumps({"property_id": tenant.property.public_id, "events": events})
    response = client.post("/v1/events", body, "application/json", HTTP_AUTHORIZATION=f"Bearer {tenant.write_key}")
    assert response.status_code == 202, response.content


def history(client, tenant):
    ingest(
        client,
        tenant,
        [
            {
                "event_id": f"e{n}",
                "type": "pageview" if n % 3 else "signup",
                "ts": f"2026-05-0{1 + n % 3}T10:0{n}:00Z",
                "context": {"page": {"url": f"https://shop.example/p{n % 2}?utm_source=news", "title": "P"}},
                "identity": {"visitor_id": f"v{n % 4}", "session_id": f"s{n % 4}"},
                "data": {"plan": "pro", "n": n} if n % 3 == 0 else {},
            }
            for n in range(10)
        ],
    )


def export(client, tenant, **params):
    query = "&".join(f"{name}={value}" for name, value in params.items())
    return client.get(
        f"/v1/properties/{tenant.property.public_id}/events/export?{query}",
        HTTP_AUTHORIZATION=f"Bearer {tenant.read_key}",
    )


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def imported(tenant, name: str, data: bytes, source=Import.Source.CLICKMETER) -> Import:
    return import_run(import_create(property=tenant.property, source=source, file=ContentFile(data, name=name)))


def stored(tenant):
    return Event.objects.filter(property=tenant.property)


def totals(tenant, first="2026-05-01", last="2026-05-03") -> dict:
    rollup_refresh_dirty_days(quiet_seconds=0)
    metrics = ["visitors", "pageviews", "events"]
    answer = query_answer(
        property=tenant.property, query=query_parse({"metrics": metrics, "date_range": [first, last]})
    )
    return dict(zip(metrics, answer.rows[0]["metrics"], strict=True))


# Export


def test_the_export_streams_ndjson_and_csv_of_any_range_to_the_read_key(client, tenant_a):
    history(client, tenant_a)
    ndjson = export(client, tenant_a)
    assert ndjson.status_code == 200 and ndjson["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in content(ndjson).splitlines()]
    assert sorted(line["event_id"] for line in lines) == sorted(f"e{n}" for n in range(10))
    signup = next(line for line in lines if line["event_id"] == "e3")
    assert signup["data"] == {"plan": "pro", "n": 3} and signup["utm_source"] == "news"
    assert signup["browser"] and signup["ts"] == "2026-05-01T10:03:00+00:00"
    one_day = export(client, tenant_a, **{"from": "2026-05-02", "to": "2026-05-02", "format": "csv"})
    assert one_day["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(content(one_day).decode())))
    assert sorted(row["event_id"] for row in rows) == ["e1", "e4", "e7"]
    assert json.loads(next(row for row in rows if row["event_id"] == "e4")["data"]) == {}


def test_the_export_refuses_bad_parameters_and_other_properties_keys(client, tenant_a, tenant_b):
    for params, field in (
        ({"from": "2026-13-01"}, "from"),
        ({"format": "xml"}, "format"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "to"),
    ):
        response = export(client, tenant_a, **params)
        assert response.status_code == 400 and response.json()["error"]["field"] == field
    foreign = client.get(
        f"/v1/properties/{tenant_a.property.public_id}/events/export", HTTP_AUTHORIZATION=f"Bearer {tenant_b.read_key}"
    )
    assert foreign.status_code == 404
    assert client.get(f"/v1/properties/{tenant_a.property.public_id}/events/export").status_code == 401


# Import: all or nothing


@pytest.mark.parametrize("format", ["ndjson", "csv"])
def test_a_round_trip_through_the_api_export_and_the_command_import_gives_the_same_totals(
    client, tenant_a, tmp_path, format
):
    history(client, tenant_a)
    file = tmp_path / f"export.{format}"
    file.write_bytes(content(export(client, tenant_a, format=format)))
    copy = tenant_create(timezone=tenant_a.property.timezone)
    call_command("events_import", copy.property.public_id, str(file), stdout=io.StringIO(), stderr=io.StringIO())
    assert stored(copy).count() == 10
    assert totals(copy) == totals(tenant_a)


def test_a_gzipped_export_imports_too(client, tenant_a):
    history(client, tenant_a)
    done = imported(tenant_create(), "events.ndjson.gz", gzip.compress(content(export(client, tenant_a))))
    assert (done.status, done.events, done.first_day, done.last_day) == ("done", 10, date(2026, 5, 1), date(2026, 5, 3))


def test_a_truncated_file_fails_naming_the_line_and_keeps_nothing(client, tenant_a):
    history(client, tenant_a)
    exported = content(export(client, tenant_a))
    target = tenant_create()
    failed = imported(target, "cut.ndjson", exported[: len(exported) - 40])
    assert failed.status == "failed" and failed.error.startswith("cut.ndjson, line 10: not a JSON object")
    assert not stored(target).exists()
    cut_csv = content(export(client, tenant_a, format="csv")).rsplit(b",", 12)[0]
    failed = imported(target, "cut.csv", cut_csv)
    assert failed.error == "cut.csv, line 11: 15 columns where the header has 27; is the file cut off?"
    assert not stored(target).exists()


def test_a_bad_record_late_in_the_file_fails_it_whole_naming_file_and_line(client, tenant_a):
    history(client, tenant_a)
    lines = content(export(client, tenant_a)).splitlines()
    bad = json.loads(lines[7])
    bad["type"] = "x" * 65
    lines[7] = json.dumps(bad).encode()
    target = tenant_create()
    failed = imported(target, "bad.ndjson", b"\n".join(lines))
    assert failed.status == "failed"
    assert failed.error == "bad.ndjson, line 8: type must be at most 64 characters."
    assert not stored(target).exists()
    failed = imported(target, "x.csv", b'event_id,type,ts\n"e1,pageview\n')
    assert failed.error == "x.csv, line 2: not valid CSV (unexpected end of data)."


def test_a_run_cut_off_and_run_again_keeps_each_event_once(client, tenant_a):
    history(client, tenant_a)
    target = tenant_create()
    upload = import_create(
        property=target.property,
        source="clickmeter",
        file=ContentFile(content(export(client, tenant_a)), name="e.ndjson"),
    )
    import_run(upload)
    upload.refresh_from_db()
    assert import_run(upload).status == "done"  # as a retried task does, after a worker was killed
    assert stored(target).count() == 10


def test_deleting_an_import_deletes_its_events_and_their_reports(client, tenant_a):
    history(client, tenant_a)
    target = tenant_create(timezone=tenant_a.property.timezone)
    ingest(client, target, [{"event_id": "own", "type": "pageview", "ts": "2026-05-02T12:00:00Z"}])
    upload = imported(target, "e.ndjson", content(export(client, tenant_a)))
    assert totals(target)["events"] == 11
    import_delete(import_=upload)
    assert list(stored(target).values_list("event_id", flat=True)) == ["own"]
    assert totals(target)["events"] == 1
    assert not Import.unscoped.filter(pk=upload.pk).exists()


# The admin's upload, run in the background (eagerly in the tests)


def test_an_admin_uploads_a_file_and_sees_its_status(client, tenant_a, django_capture_on_commit_callbacks):
    history(client, tenant_a)
    exported = content(export(client, tenant_a))
    browser = session_client_for(tenant_a.admin)
    upload = ContentFile(exported, name="export.ndjson")
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/admin/imports/import/add/", {"property": tenant_a.property.pk, "source": "clickmeter", "file": upload}
        )
    assert response.status_code == 302, response.content
    done = Import.unscoped.get(property=tenant_a.property)
    assert (done.status, done.events, done.created_by) == ("done", 10, tenant_a.admin)
    # Imported beside the originals: the same ids under the import's prefix.
    assert stored(tenant_a).count() == 20
    page = browser.get(f"/admin/imports/import/{done.pk}/change/")
    assert page.status_code == 200 and b"Done" in page.content


def test_an_admin_cannot_import_into_another_organisations_property(tenant_a, tenant_b):
    browser = session_client_for(tenant_a.admin)
    response = browser.post(
        "/admin/imports/import/add/",
        {"property": tenant_b.property.pk, "source": "clickmeter", "file": ContentFile(b"", name="x.ndjson")},
    )
    assert response.status_code == 200 and "property" in response.context["adminform"].form.errors
    assert not Import.unscoped.exists()


# Umami

UMAMI_COLUMNS = [
    "event_id", "website_id", "session_id", "visit_id", "created_at", "hostname", "url_path", "url_query",
    "referrer_path", "referrer_query", "referrer_domain", "page_title", "event_type", "event_name",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
]  # fmt: skip
SESSION_COLUMNS = [
    "session_id",
    "website_id",
    "browser",
    "os",
    "device",
    "screen",
    "language",
    "country",
    "region",
    "city",
]


def umami_rows() -> list[dict]:
    rows = []
    for n in range(12):
        session = f"0000000{n % 3}-0000-4000-8000-000000000000"
        rows.append(
            {
                "event_id": f"10000000-0000-4000-8000-{n:012d}",
                "website_id": "w",
                "session_id": session,
                "visit_id": f"{session[:-1]}{n % 5}",
                "created_at": f"2026-04-0{1 + n % 2} 09:{n:02d}:00",
                "hostname": "blog.example",
                "url_path": f"/post/{n % 4}",
                "url_query": "utm_source=mastodon" if n == 0 else "",
                "referrer_path": "/",
                "referrer_query": "",
                "referrer_domain": "news.ycombinator.com" if n % 4 == 0 else "",
                "page_title": "Post",
                "event_type": "2" if n % 6 == 5 else "1",
                "event_name": "subscribe" if n % 6 == 5 else "",
                **{f"utm_{name}": "" for name in ("source", "medium", "campaign", "content", "term")},
            }
        )
    return rows


def csv_bytes(columns, rows) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def test_umamis_events_with_their_sessions_import_and_the_totals_equal_the_files(tenant_a):
    rows = umami_rows()
    sessions = [
        {"session_id": f"0000000{n}-0000-4000-8000-000000000000", "website_id": "w", "browser": "firefox",
         "os": "Mac OS", "device": "laptop", "screen": "1440x900", "language": "en", "country": "de",
         "region": "DE-BE", "city": "Berlin"}
        for n in range(3)
    ]  # fmt: skip
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("export/website_event.csv", csv_bytes(UMAMI_COLUMNS, rows))
        zipped.writestr("export/session.csv", csv_bytes(SESSION_COLUMNS, sessions))
    done = imported(tenant_a, "umami.zip", archive.getvalue(), source=Import.Source.UMAMI)
    assert done.status == "done", done.error
    pageviews = sum(row["event_type"] == "1" for row in rows)
    assert totals(tenant_a, "2026-04-01", "2026-04-02") == {
        "visitors": len({row["session_id"] for row in rows}),
        "pageviews": pageviews,
        "events": len(rows),
    }
    first = stored(tenant_a).get(event_id=f"{done.event_id_prefix()}{rows[0]['event_id']}")
    assert (first.url, first.path, first.utm_source, first.referrer) == (
        "https://blog.example/post/0?utm_source=mastodon",
        "/post/0",
        "mastodon",
        "https://news.ycombinator.com/",
    )
    assert (first.browser, first.os, first.device, first.country, first.region, first.city) == (
        "Firefox", "Mac OS X", "desktop", "DE", "DE-BE", "Berlin",
    )  # fmt: skip
    assert first.ts == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert stored(tenant_a).filter(type="subscribe").count() == len(rows) - pageviews


def test_umami_clouds_data_export_one_csv_of_events_with_their_sessions_columns_imports(tenant_a):
    # Umami Cloud's data export: each event row with its session's columns (subdivision1, screen, …).
    session_columns = [*SESSION_COLUMNS[2:-2], "subdivision1", "subdivision2", "city"]
    rows = [
        {**row, "browser": "chrome", "os": "Windows 10", "device": "mobile", "screen": "390x844", "language": "fr",
         "country": "FR", "subdivision1": "FR-IDF", "subdivision2": "FR-75", "city": "Paris"}
        for row in umami_rows()
    ]  # fmt: skip
    done = imported(tenant_a, "export.csv", csv_bytes([*UMAMI_COLUMNS, *session_columns], rows), source="umami")
    assert done.status == "done", done.error
    assert done.events == len(rows)
    assert totals(tenant_a, "2026-04-01", "2026-04-02")["pageviews"] == sum(row["event_type"] == "1" for row in rows)
    first = stored(tenant_a).get(event_id=f"{done.event_id_prefix()}{rows[0]['event_id']}")
    assert (first.browser, first.os, first.device, first.country, first.region, first.city) == (
        "Chrome", "Windows", "mobile", "FR", "FR-IDF", "Paris",
    )  # fmt: skip


def test_an_umami_csv_without_sessions_imports_and_a_bad_time_names_its_line(tenant_a):
    rows = umami_rows()
    assert imported(tenant_a, "website_event.csv", csv_bytes(UMAMI_COLUMNS, rows), source="umami").status == "done"
    rows[4]["created_at"] = "yesterday"
    target = tenant_create()
    failed = imported(target, "website_event.csv", csv_bytes(UMAMI_COLUMNS, rows), source="umami")
    assert failed.error == "website_event.csv, line 6: created_at must be a time such as 2024-05-01 10:00:00."
    assert not stored(target).exists()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("other.csv", b"a,b\n")
    failed = imported(target, "umami.zip", archive.getvalue(), source="umami")
    assert failed.error == "umami.zip: the zip holds no website_event.csv."


def test_the_export_command_writes_what_the_api_streams(client, tenant_a, tmp_path):
    history(client, tenant_a)
    output = tmp_path / "out.csv"
    call_command(
        "events_export", tenant_a.property.public_id, "--format", "csv", "--output", str(output), stderr=io.StringIO()
    )
    assert output.read_bytes() == content(export(client, tenant_a, format="csv"))
    with pytest.raises(CommandError, match="No property"):
        call_command("events_export", "prop_nope")
