"""A password reset link opened from another site (as from a mail) reaches the form to set the password:
the session cookie must come along on that navigation's redirect (SameSite=Lax; Strict fails here)."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import override_settings
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.conftest import tenant_create
from tests.e2e.test_beacon_browser import CHROME, PageServer
from tests.e2e.test_dashboard_browser import browser, stack, with_production_password  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_a_reset_link_followed_from_another_site_opens_the_form(stack, browser, tmp_path):  # noqa: F811
    user = with_production_password(tenant_create().owner)
    with override_settings(SECRET_KEY=stack.env["SECRET_KEY"]):  # the link as the server's mail writes it
        token = default_token_generator.make_token(user)
    link = f"{stack.base_url}/password-reset/{urlsafe_base64_encode(force_bytes(user.pk))}/{token}"
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "index.html").write_text(f'<a id="reset" href="{link}">Reset</a>')
    mail = PageServer(folder)
    try:
        context = browser.new_context(user_agent=CHROME)
        page = context.new_page()
        page.goto(f"http://localhost:{mail.port}/index.html")
        page.click("#reset")
        page.wait_for_load_state()
        assert page.locator("input[name=new_password1]").count() == 1, page.content()[:2000]
        context.close()
    finally:
        mail.stop()
