"""The dashboard's funnel page in a real headless Chromium (Debian's), against the real stack: its
visible numbers equal the funnel query API's for the same range, funnel and breakdown, at desktop
and phone widths, without sideways scrolling."""

import pytest

from apps.reports.funnels.services import funnel_create
from apps.reports.templatetags.dashboard import metric_value, percent, thousands
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (browser and stack are fixtures)
    WIDTHS,
    assert_fits,
    browser,
    seeded_tenant,
    signed_in_page,
    stack,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

STEPS = [{"kind": "page", "value": "/"}, {"kind": "page", "value": "/pricing"}, {"kind": "page", "value": "/docs"}]


def funnel_answer(server, tenant, funnel_id: int, **body) -> dict:
    status, _, answer = server.request(
        "POST",
        f"/v1/properties/{tenant.property.public_id}/funnels/query",
        {"funnel_id": funnel_id, "date_range": "7d", **body},
        {"Authorization": f"Bearer {tenant.read_key}"},
    )
    assert status == 200, answer
    return answer


def steps_shown_like_the_page(steps: list[dict]) -> list[dict]:
    """The API's steps as the page prints them."""
    shown = []
    for step in steps:
        figures = {"visitors": thousands(step["visitors"]), "conversion_rate": percent(step["conversion_rate"])}
        if step["step"] > 1:
            figures |= {
                "conversion_rate_step": percent(step["conversion_rate_step"]),
                "dropoff": f"{thousands(step['dropoff'])} ({percent(step['dropoff_percentage'])})",
                "median": metric_value(step["median_seconds_from_previous"], "visit_duration"),
            }
        shown.append({"label": step["label"], "bar": f"{step['conversion_rate']:.2f}", **figures})
    return shown


STEPS_ON_PAGE = """steps => steps.map(step => {
  const figures = {label: step.querySelector('h3 .cell-text').innerText.trim(),
                   bar: step.querySelector('meter').getAttribute('value')};
  step.querySelectorAll('[data-figure]').forEach(f => { figures[f.dataset.figure] = f.innerText.trim(); });
  return figures;
})"""
ROWS_ON_PAGE = "rows => rows.map(r => Array.from(r.children, cell => cell.innerText.trim()))"


def test_the_funnel_page_equals_the_api_at_desktop_and_phone_widths(stack, browser, tmp_path):  # noqa: F811
    tenant = seeded_tenant()
    funnel_create(property=tenant.property, name="Blog", steps=[STEPS[0], {"kind": "page", "value": "/blog/**"}])
    funnel = funnel_create(property=tenant.property, name="Docs", steps=STEPS)
    answer = funnel_answer(stack, tenant, funnel.pk)
    # The seeded sessions walk PATHS in order, one to four of them: every step has visitors, and fewer.
    visitors = [step["visitors"] for step in answer["steps"]]
    assert visitors[0] > visitors[1] > visitors[2] > 0, visitors
    by_country = funnel_answer(stack, tenant, funnel.pk, dimension="visit:country")
    expected_rows = [
        [group["dimension"]]
        + [
            thousands(step["visitors"]) + ("" if step["step"] == 1 else f" {percent(step['conversion_rate'])}")
            for step in group["steps"]
        ]
        for group in by_country["breakdown"]
    ]
    assert sorted(row[0] for row in expected_rows) == ["FR", "GB"]
    for name, width in WIDTHS.items():
        context, page = signed_in_page(browser, stack, tenant.viewer, width)
        page.goto(f"{stack.base_url}/properties/{tenant.property.public_id}/?range=7d")
        page.click("a:text-is('Funnels')")
        page.wait_for_url("**/funnels/?range=7d")
        page.click(f"a:text-is('{funnel.name}')")
        page.wait_for_url(f"**funnel={funnel.pk}**")
        shown = page.eval_on_selector_all(".funnel-step", STEPS_ON_PAGE)
        assert shown == steps_shown_like_the_page(answer["steps"]), name
        assert_fits(page, f"funnel-{name}", tmp_path)
        page.select_option("#funnel-by", "country")
        page.click(".breakdown-form button[type=submit]")
        page.wait_for_url("**by=country**")
        assert page.eval_on_selector_all(".funnel-table tbody tr", ROWS_ON_PAGE) == expected_rows, name
        assert page.eval_on_selector_all(".funnel-step", STEPS_ON_PAGE) == shown
        assert_fits(page, f"funnel-by-country-{name}", tmp_path)
        context.close()
