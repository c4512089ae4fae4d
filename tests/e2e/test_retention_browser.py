"""The dashboard's retention page in a real headless Chromium (Debian's), against the real stack: its
triangle and identity notice equal the retention query API's for the same range, period and
filters, at desktop and phone widths, without sideways scrolling of the page."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from apps.ingestion.storage import AcceptedBatch, events_store
from apps.reports.templatetags.dashboard import percent, thousands
from devtools.events import validated_event
from tests.e2e.test_beacon_browser import CHROME
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (browser and stack are fixtures)
    WIDTHS,
    assert_fits,
    browser,
    seeded_tenant,
    signed_in_page,
    stack,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

COOKIELESS_PAGE = "/cookieless"


def cookieless_visits(tenant) -> None:
    """Three visitors on COOKIELESS_PAGE with the server's daily hash alone: nobody retention can follow."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    events = [
        validated_event(
            ts=(now - timedelta(hours=n)).isoformat(),
            url="https://example.com" + COOKIELESS_PAGE,
            path=COOKIELESS_PAGE,
            visitor_id=f"h_{n:032x}",
        )
        for n in range(3)
    ]
    batch = AcceptedBatch(0, 0, datetime.now(UTC), events, {"user_agent": CHROME, "country": "GB"})
    events_store(batches=[replace(batch, property_id=tenant.property.pk)])


def retention_answer(server, tenant, **body) -> dict:
    status, _, answer = server.request(
        "POST",
        f"/v1/properties/{tenant.property.public_id}/retention",
        {"date_range": "7d", **body},
        {"Authorization": f"Bearer {tenant.read_key}"},
    )
    assert status == 200, answer
    return answer


def triangle_shown_like_the_page(cohorts: list[dict]) -> list[list[str]]:
    """The API's cohorts as the page's rows print them: the cohort's first day, its people, then each
    period's share and count (a dash for a cohort of nobody), blank cells squaring the triangle off."""
    rows = []
    for n, cohort in enumerate(cohorts):
        cells = [
            f"{percent(p['percentage'])} {thousands(p['visitors'])}" if cohort["visitors"] else "\u2013"
            for p in cohort["returning"]
        ]
        rows.append([cohort["cohort"], thousands(cohort["visitors"]), *cells, *[""] * n])
    return rows


TRIANGLE_ON_PAGE = """rows => rows.map(row => [
  row.querySelector('time').getAttribute('datetime'),
  ...Array.from(row.querySelectorAll('td'), cell => cell.textContent.replace(/\\s+/g, ' ').trim()),
])"""
NOTICE_ON_PAGE = """notice => Object.fromEntries(
  Array.from(notice.querySelectorAll('[data-figure]'), figure => [figure.dataset.figure, figure.textContent.trim()]))"""


def notice_shown_like_the_page(meta: dict) -> dict:
    shown = {"identified_share": percent(meta["identified_share"]), "visitors": thousands(meta["visitors"])}
    if meta["identified_visitors"]:
        shown["identified_visitors"] = thousands(meta["identified_visitors"])
    return shown


def test_the_retention_page_equals_the_api_at_desktop_and_phone_widths(stack, browser, tmp_path):  # noqa: F811
    tenant = seeded_tenant()
    cookieless_visits(tenant)
    daily = retention_answer(stack, tenant, period="day")
    # The seeded visitors keep their ids for six days: some come back, and most of the range's
    # visitors can be followed (the cookieless three cannot).
    assert len(daily["cohorts"]) == 7 and any(
        c["returning"][1:] and c["returning"][1]["visitors"] for c in daily["cohorts"]
    )
    assert 0 < daily["meta"]["identified_share"] < 100
    nobody = retention_answer(stack, tenant, filters=[["is", "event:page", [COOKIELESS_PAGE]]])
    assert (nobody["meta"]["visitors"], nobody["meta"]["identified_share"]) == (3, 0.0)
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.viewer, width)
        page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
        page.click("a:text-is('Retention')")
        page.wait_for_url("**/retention/?range=7d")
        page.select_option("#retention-period", "day")
        page.click(".breakdown-form button[type=submit]")
        page.wait_for_url("**period=day**")
        shown = page.eval_on_selector_all(".retention-table tbody tr", TRIANGLE_ON_PAGE)
        assert shown == triangle_shown_like_the_page(daily["cohorts"]), name
        assert page.eval_on_selector("#identity-notice", NOTICE_ON_PAGE) == notice_shown_like_the_page(daily["meta"])
        assert daily["meta"]["identity"] in page.inner_text("#identity-notice")
        assert_fits(page, f"retention-{name}", tmp_path)
        page.goto(f"{page.url}&f_path={COOKIELESS_PAGE}")
        assert page.eval_on_selector("#identity-notice", NOTICE_ON_PAGE) == notice_shown_like_the_page(nobody["meta"])
        assert "No visitor in this period has a lasting identity" in page.inner_text("#identity-notice")
        assert page.query_selector(".retention-table") is None
        assert_fits(page, f"retention-nobody-{name}", tmp_path)
        context.close()
