"""Every kind of page under its Content-Security-Policy, in a real headless Chromium against the
production-shaped stack: the policy has no `unsafe-inline`, each page comes with it and with a
Permissions-Policy, and loading each page — its scripts run, its boxes fetched by htmx, its charts
drawn — violates nothing and logs no error."""

import pytest

from apps.reports.funnels.services import funnel_create
from apps.reports.shared_links.services import shared_link_create
from tests.e2e.test_beacon_browser import CHROME
from tests.e2e.test_dashboard_browser import (  # noqa: F401 (browser and stack are fixtures)
    boxes_loaded,
    browser,
    seeded_tenant,
    sign_in,
    stack,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

# Recorded by each page from its first script on: what the policy refused.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def watched(chromium_browser):
    context = chromium_browser.new_context(user_agent=CHROME, viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, errors


def visit(page, url: str) -> dict[str, str]:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    page.wait_for_load_state("networkidle")
    return response.all_headers()


def test_every_kind_of_page_runs_under_the_policy_without_a_violation(stack, browser):  # noqa: F811
    tenant = seeded_tenant()
    prop = tenant.property
    steps = [{"kind": "page", "value": "/"}, {"kind": "page", "value": "/docs"}]
    funnel_create(property=prop, name="Docs", steps=steps)
    _, token = shared_link_create(property=prop, name="board")
    base = f"{stack.base_url}/properties/{prop.public_id}"
    context, page, errors = watched(browser)

    headers = visit(page, f"{stack.base_url}/login")
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "camera=()" in headers["permissions-policy"]
    sign_in(page, stack, tenant.owner)
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["sessionid"]["sameSite"] == "Lax"  # Strict would break reset links from mail
    assert cookies["csrftoken"]["sameSite"] == "Strict"

    pages = [
        f"{stack.base_url}/",
        f"{base}/",
        f"{base}/?range=30d&f_country=GB",
        f"{base}/breakdown/pages",
        f"{base}/realtime",
        f"{base}/funnels/",
        f"{base}/retention/",
        f"{base}/journeys/",
        f"{base}/settings",
        f"{stack.base_url}/admin/",
        f"{stack.base_url}/admin/imports/import/",
        f"{stack.base_url}/admin/imports/import/add/",
        f"{stack.base_url}/admin/ingestion/subjectrequest/add/",
        f"{stack.base_url}/v1/docs",
        f"{stack.base_url}/share/{token}",
    ]
    for url in pages:
        headers = visit(page, url)
        if "/properties/" in url and "settings" not in url and "breakdown" not in url:
            boxes_loaded(page)
        assert headers["content-security-policy"] == policy, url
        assert "permissions-policy" in headers, url
        violations = page.evaluate("window.__violations")
        assert violations == [], (url, violations)
    assert errors == []
    context.close()
