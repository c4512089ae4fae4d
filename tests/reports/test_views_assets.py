"""Vendored front-end libraries are the recorded npm releases, and no page loads anything from a CDN."""

import hashlib
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "static" / "vendor"
PEER_TRACKERS = ROOT / "apps" / "ingestion" / "peers" / "trackers"
PACKAGES = {
    VENDOR: (("htmx.org", "2.0.11"), ("uplot", "1.6.32")),
    PEER_TRACKERS: (("umami", "2.10.0"), ("posthog-js", "1.449.2")),
}
FILE_ROW = re.compile(r"^\| (\S+) \| (.+?) \| ([0-9a-f]{64}) \|$", re.M)


def recorded_files(folder: Path) -> dict[str, str]:
    return {name: sha256 for name, _, sha256 in FILE_ROW.findall((folder / "VERSIONS.md").read_text())}


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda folder: folder.name)
def test_every_vendored_file_is_recorded_with_its_checksum(folder):
    recorded = recorded_files(folder)
    present = {path.name for path in folder.iterdir() if path.name != "VERSIONS.md"}
    assert present == set(recorded)
    for name, sha256 in recorded.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha256, name


@pytest.mark.parametrize("folder", PACKAGES, ids=lambda folder: folder.name)
def test_each_package_is_recorded_with_version_licence_and_registry_integrity(folder):
    text = (folder / "VERSIONS.md").read_text()
    for package, version in PACKAGES[folder]:
        assert re.search(rf"^\| {re.escape(package)} \| {version} \| \S+ .*\| sha512-[A-Za-z0-9+/]+=* \|$", text, re.M)


def test_no_template_loads_a_script_or_stylesheet_from_another_host():
    for template in (ROOT / "templates").rglob("*.html"):
        html = template.read_text()
        assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", html), template


def test_the_favicon_is_served_at_the_root_and_linked_from_every_page(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    icon = b"".join(response.streaming_content)
    assert icon[:4] == b"\x00\x00\x01\x00"  # an icon file
    # Every page extends base.html, which links the same file as a static file.
    linked = re.search(r'<link rel="icon" href="([^"]+)"', client.get("/login").content.decode()).group(1)
    assert linked == static("root/favicon.ico")
    assert Path(finders.find("root/favicon.ico")).read_bytes() == icon
