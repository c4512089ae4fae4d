"""The dashboard's sessions pages in a real headless Chromium (Debian's), against the real stack: the
list, reached from the dashboard's header, holds the sessions the API lists for the same range, page
after page; a session opens on its events in the API's order; both fit desktop and phone widths, and
the browser reports no error (a refusal by the pages' Content-Security-Policy would be one)."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.reports.views.sessions import PAGE_VISITS
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (browser and stack are fixtures)
    WIDTHS,
    assert_fits,
    browser,
    seeded_tenant,
    signed_in_page,
    stack,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ROW_IDS = "rows => rows.map(row => row.dataset.session)"
EVENTS_ON_PAGE = "rows => rows.map(row => Array.from(row.children, cell => cell.textContent.trim()))"


def test_the_sessions_pages_equal_the_api_page_after_page_at_both_widths(stack, browser, tmp_path):  # noqa: F811
    tenant = seeded_tenant()
    today = datetime.now(UTC).date()
    status, listed = stack.get(
        f"/v1/properties/{tenant.property.public_id}/sessions?from={today - timedelta(days=6)}&to={today}&limit=1000",
        tenant.read_key,
    )
    assert status == 200, listed
    ids = [session["id"] for session in listed["sessions"]]
    assert PAGE_VISITS < len(ids) < 2 * PAGE_VISITS, "the seeded sessions fill a page and part of another"
    status, detail = stack.get(f"/v1/properties/{tenant.property.public_id}/sessions/{ids[0]}", tenant.read_key)
    assert status == 200, detail
    errors: list[str] = []
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.viewer, width)
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
        page.click("a:text-is('Sessions')")
        page.wait_for_url("**/sessions/?range=7d")
        assert page.eval_on_selector_all("tr[data-session]", ROW_IDS) == ids[:PAGE_VISITS], name
        assert_fits(page, f"sessions-{name}", tmp_path)
        page.click("a:text-is('Older sessions')")
        page.wait_for_url("**before=**")
        assert page.eval_on_selector_all("tr[data-session]", ROW_IDS) == ids[PAGE_VISITS:], name
        page.click("a:text-is('Newest sessions')")
        page.wait_for_url("**/sessions/?range=7d")
        page.click(f"tr[data-session='{ids[0]}'] a")
        page.wait_for_url(f"**/sessions/{ids[0]}?range=7d")
        assert page.eval_on_selector_all(".session-events tbody tr", EVENTS_ON_PAGE) == [
            [datetime.fromisoformat(event["ts"]).astimezone(UTC).strftime("%H:%M:%S"), event["type"], event["path"]]
            for event in detail["events"]
        ], name
        assert_fits(page, f"session-{name}", tmp_path)
        page.click("a:text-is('← All sessions')")
        page.wait_for_url("**/sessions/?range=7d")
        context.close()
    assert errors == []
