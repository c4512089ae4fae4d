"""The dashboard's journeys page in a real headless Chromium (Debian's), against the real stack: its
flow diagram and paths equal the journey query API's for the same range and anchor, forwards and
backwards, at desktop and phone widths, without sideways scrolling of the page."""

from collections import Counter

import pytest

from apps.reports.templatetags.dashboard import thousands
from apps.reports.views.journeys import FLOW_LIMIT
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (browser and stack are fixtures)
    WIDTHS,
    assert_fits,
    browser,
    seeded_tenant,
    signed_in_page,
    stack,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def journey_answer(server, tenant, **body) -> dict:
    status, _, answer = server.request(
        "POST",
        f"/v1/properties/{tenant.property.public_id}/journeys",
        {"date_range": "7d", "limit": FLOW_LIMIT, **body},
        {"Authorization": f"Bearer {tenant.read_key}"},
    )
    assert status == 200, answer
    return answer


def flow_shown_like_the_page(answer: dict) -> list[list[list[str]]]:
    """The API's answer as the diagram's columns of (label, visits): the anchor with every visit, then
    per step the visits of the links into each page, what the links shown leave out as (other)."""
    columns = [[[answer["meta"]["anchor"]["value"], thousands(answer["visits"])]]]
    for step in range(1, answer["meta"]["depth"] + 1):
        into = Counter()
        for link in answer["links"]:
            if link["step"] == step:
                into[link["to"]] += link["visits"]
        if sum(into.values()) < answer["visits"]:
            into["(other)"] = answer["visits"] - sum(into.values())
        ends = ("(exit)", "(entry)", "(other)")
        ordered = sorted(into.items(), key=lambda item: (item[0] in ends, -item[1], item[0]))
        columns.append([[label, thousands(visits)] for label, visits in ordered])
    return columns


FLOW_ON_PAGE = """columns => columns.map(column => Array.from(column.querySelectorAll('.flow-node'), node => [
  node.querySelector('.flow-label').textContent, node.querySelector('.flow-visits').textContent]))"""
ROWS_ON_PAGE = "rows => rows.map(r => Array.from(r.children, cell => cell.textContent.trim()))"


def paths_shown_like_the_page(answer: dict) -> list[list[str]]:
    return [[*path["steps"], thousands(path["visits"])] for path in answer["paths"]]


def test_the_journeys_page_equals_the_api_at_desktop_and_phone_widths(stack, browser, tmp_path):  # noqa: F811
    tenant = seeded_tenant()
    onwards = journey_answer(stack, tenant, anchor={"kind": "page", "value": "/"}, depth=3)
    # The seeded sessions walk /, /pricing, /docs, /blog/launch in order, one to four of them.
    assert onwards["links"][0] == {**onwards["links"][0], "from": "/", "to": "/pricing"}
    backwards = journey_answer(stack, tenant, anchor={"kind": "page", "value": "/docs"}, direction="previous", depth=2)
    assert [path["steps"] for path in backwards["paths"]] == [["/pricing", "/"]]
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.viewer, width)
        page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
        page.click("a:text-is('Journeys')")
        page.wait_for_url("**/journeys/?range=7d")
        assert page.inner_text("[data-figure=visits]") == thousands(onwards["visits"])
        assert page.eval_on_selector_all(".flow-column", FLOW_ON_PAGE) == flow_shown_like_the_page(onwards), name
        assert page.eval_on_selector_all(".journey-paths tbody tr", ROWS_ON_PAGE) == paths_shown_like_the_page(onwards)
        assert_fits(page, f"journeys-{name}", tmp_path)
        page.fill("#journey-anchor", "/docs")
        page.select_option("#journey-direction", "previous")
        page.select_option("#journey-depth", "2")
        page.click(".breakdown-form button[type=submit]")
        page.wait_for_url("**direction=previous**")
        assert page.eval_on_selector_all(".flow-column", FLOW_ON_PAGE) == flow_shown_like_the_page(backwards), name
        assert page.eval_on_selector_all(".journey-paths tbody tr", ROWS_ON_PAGE) == paths_shown_like_the_page(
            backwards
        )
        assert_fits(page, f"journeys-backwards-{name}", tmp_path)
        context.close()
