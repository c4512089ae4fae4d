"""The beacon asset: size budget, caching, versioning."""

import gzip

from apps.ingestion.views import beacon_build

SIZE_BUDGET = 2048


def test_the_minified_beacon_is_at_most_2_kb_gzipped():
    _, plain, zipped = beacon_build()
    assert len(gzip.compress(plain, 9)) <= SIZE_BUDGET
    assert gzip.decompress(zipped) == plain


def test_c_js_is_served_gzipped_with_an_etag_and_a_day_of_caching(client):
    response = client.get("/c.js", HTTP_ACCEPT_ENCODING="gzip, br")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Content-Encoding"] == "gzip"
    assert "max-age=86400" in response["Cache-Control"]
    version = response["X-Clickmeter-Version"]
    assert gzip.decompress(response.content) == beacon_build()[1]
    again = client.get("/c.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get("/c.js").content == beacon_build()[1], "plain for clients that do not take gzip"
    versioned = client.get(f"/c/{version}.js")
    assert versioned.status_code == 200
    assert "immutable" in versioned["Cache-Control"]
    assert client.get("/c/0123456789ab.js").status_code == 404
