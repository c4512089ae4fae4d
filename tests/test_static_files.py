"""In production, pages link static files under hashed names, which WhiteNoise serves compressed and
cached for good (the suite itself renders pages with the plain storage: tests/settings.py)."""

import re
from pathlib import Path

import brotli
import pytest
from django.core.management import call_command
from django.test import Client

from config import settings as production_settings
from tests.conftest import session_client_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def production_static(settings, tmp_path):
    """Production's storage, after the release step's collectstatic of the project's own files (the
    admin's and the API docs' would take most of a minute)."""
    settings.STORAGES = production_settings.STORAGES
    settings.STATIC_ROOT = tmp_path
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    call_command("collectstatic", interactive=False, verbosity=0)


def test_the_dashboard_script_is_linked_by_its_hash_and_served_compressed_and_immutable(production_static, tenant_a):
    page = session_client_for(tenant_a.viewer).get(f"/properties/{tenant_a.property.public_id}/")
    linked = re.search(r'<script defer src="(/static/js/dashboard\.[0-9a-f]{12}\.js)">', page.content.decode())
    assert linked, "the dashboard links its script under a hashed name"

    response = Client().get(linked.group(1), HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert "immutable" in response["Cache-Control"]
    served = brotli.decompress(b"".join(response.streaming_content))
    assert served == (ROOT / "static" / "js" / "dashboard.js").read_bytes()


def test_the_beacon_keeps_its_stable_address(production_static, client):
    response = client.get("/c.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
