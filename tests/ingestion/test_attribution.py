"""Page host, UTM from the URL, referrer host, source and channel."""

import json

import pytest

from apps.ingestion.attribution import attribution
from apps.ingestion.models import Event
from devtools.events import validated_event


@pytest.mark.parametrize(
    ("url", "referrer", "expected"),
    [
        ("https://example.com/", "", ("", "", "direct")),
        ("https://example.com/", "https://www.google.co.uk/", ("google.co.uk", "Google", "organic search")),
        ("https://example.com/", "https://www.bing.com/search?q=x", ("bing.com", "Bing", "organic search")),
        ("https://example.com/", "https://duckduckgo.com/", ("duckduckgo.com", "DuckDuckGo", "organic search")),
        ("https://example.com/", "https://l.facebook.com/l.php", ("l.facebook.com", "Facebook", "social")),
        ("https://example.com/", "https://t.co/abc", ("t.co", "X (Twitter)", "social")),
        ("https://example.com/", "https://www.linkedin.com/feed/", ("linkedin.com", "LinkedIn", "social")),
        ("https://example.com/", "https://old.reddit.com/r/x", ("old.reddit.com", "Reddit", "social")),
        ("https://example.com/", "https://github.com/o/r", ("github.com", "GitHub", "social")),
        (
            "https://example.com/",
            "https://news.ycombinator.com/item?id=1",
            ("news.ycombinator.com", "Hacker News", "social"),
        ),
        ("https://example.com/", "https://mail.google.com/", ("mail.google.com", "Gmail", "email")),
        ("https://example.com/", "https://blog.other.org/post", ("blog.other.org", "blog.other.org", "referral")),
        ("https://example.com/a", "https://example.com/b", ("", "", "direct")),
        ("https://example.com/?utm_source=google&utm_medium=cpc", "", ("", "Google", "paid search")),
        ("https://example.com/?utm_source=facebook&utm_medium=paid-social", "", ("", "Facebook", "paid other")),
        ("https://example.com/?utm_source=newsletter&utm_medium=email", "", ("", "newsletter", "email")),
        ("https://example.com/?utm_source=partner", "", ("", "partner", "referral")),
    ],
)
def test_referrer_host_source_and_channel(url, referrer, expected):
    found = attribution(url=url, referrer=referrer, event=validated_event())
    assert (found["referrer_host"], found["source"], found["channel"]) == expected


def test_utm_fields_and_campaign_id_come_from_the_url_unless_the_envelope_has_them():
    url = "https://www.shop.example.com/p?utm_source=x&utm_medium=y&utm_campaign=url&utm_term=t&campaign_id=c9"
    found = attribution(url=url, referrer="", event=validated_event(utm_campaign="envelope"))
    assert found["hostname"] == "shop.example.com"
    assert (found["utm_source"], found["utm_medium"], found["utm_term"]) == ("x", "y", "t")
    assert found["utm_campaign"] == "envelope"
    assert found["campaign_id"] == "c9"


@pytest.mark.django_db
def test_stored_events_carry_attribution_and_a_campaign_key_from_the_url(client, tenant_a):
    event = {
        "type": "pageview",
        "context": {"page": {"url": "https://example.com/?utm_campaign=spring", "referrer": "https://www.google.com/"}},
    }
    envelope = {"property_id": tenant_a.property.public_id, "events": [event]}
    client.post(
        "/v1/events",
        json.dumps(envelope),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.write_key}",
    )
    stored = Event.objects.get()
    assert (stored.hostname, stored.source, stored.channel) == ("example.com", "Google", "organic search")
    assert (stored.utm_campaign, stored.campaign_key) == ("spring", "spring")
