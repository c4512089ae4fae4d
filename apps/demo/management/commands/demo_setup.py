import json
import math
import random
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import membership_set, organization_get_or_create
from apps.ingestion.schema import envelope_validate
from apps.ingestion.storage import AcceptedBatch, events_store
from apps.keys.services import property_keys_create
from apps.properties.models import Property
from apps.properties.services import property_create
from apps.reports.services import rollup_refresh_dirty_days

ORGANIZATION, PROPERTY, ADMIN_EMAIL = "Demo", "Demo site", "admin@example.com"
SITE = "https://www.example.com"
# Ninety days: the default view (last 30 days) and the period it is compared with, this month and
# last month, with room to spare. Rerun, the demo adds what happened since, up to now.
DAYS = 90

# --- The shape of the traffic ----------------------------------------------------------------------
# Everything about a day follows from its date, so that a day generated again is the same day.
VISITS_PER_DAY = 100  # on an average Monday
SEASON = 0.25  # a yearly wave: +25 % at its top, -25 % at its bottom
WEEKDAY = (1.0, 1.06, 1.04, 0.98, 0.86, 0.52, 0.48)  # Monday first
HOURLY = (2, 1.5, 1, 1, 1, 1.5, 3, 5, 7, 8, 8.5, 8, 7.5, 8, 8.5, 8, 7, 6, 5.5, 5.5, 5, 4.5, 3.5, 2.5)
LAUNCH_EVERY, LAUNCH_SPIKE = 61, 4.0  # every two months a post reaches Hacker News' front page
RETURNING = 0.3  # share of visits by one of the regular visitors
PAGES = {  # path: (title, weight as a next page)
    "/": ("Clickmeter — privacy-first analytics", 10),
    "/pricing": ("Pricing", 7),
    "/features": ("Features", 5),
    "/docs": ("Documentation", 5),
    "/docs/install": ("Install", 4),
    "/docs/api": ("API reference", 3),
    "/docs/self-hosting": ("Self-hosting", 2),
    "/blog": ("Blog", 3),
    "/blog/launching-clickmeter": ("Launching Clickmeter", 1),
    "/blog/privacy-first-analytics": ("Privacy-first analytics, explained", 1),
    "/blog/cookieless-sessions": ("Sessions without cookies", 1),
    "/changelog": ("Changelog", 2),
    "/about": ("About", 1),
    "/signup": ("Sign up", 3),
}
# (weight, referrer, landing pages, campaign: (campaign_id, source, medium, name, term) or None)
SOURCES = (
    (30, "", ("/", "/pricing", "/docs"), None),
    (24, "https://www.google.com/", ("/blog/privacy-first-analytics", "/docs/install", "/", "/features"), None),
    (3, "https://www.bing.com/", ("/", "/features"), None),
    (4, "https://duckduckgo.com/", ("/blog/privacy-first-analytics", "/"), None),
    (2, "https://news.ycombinator.com/item?id=42424242", ("/blog/launching-clickmeter",), None),
    (3, "https://www.reddit.com/r/selfhosted/", ("/docs/self-hosting", "/blog/cookieless-sessions"), None),
    (3, "https://t.co/Xy12Ab", ("/", "/blog/launching-clickmeter"), None),
    (2, "https://www.linkedin.com/", ("/", "/about"), None),
    (4, "https://github.com/clickmeter/clickmeter", ("/docs/install", "/docs"), None),
    (2, "https://blog.partner-site.org/analytics-tools", ("/features",), None),
    (4, "https://mail.google.com/", ("/changelog", "/blog"), ("", "newsletter", "email", "monthly-update", "")),
    (5, "https://www.google.com/", ("/pricing",), ("cmp_brand", "google", "cpc", "brand-search", "clickmeter")),
    (2, "https://www.google.com/", ("/features",), ("cmp_generic", "google", "cpc", "generic-search", "web analytics")),
    (2, "https://t.co/Xy12Ab", ("/",), ("", "twitter", "social", "launch-week", "")),
)
LAUNCH_SOURCE = 4  # SOURCES[4], Hacker News
USER_AGENTS = (  # (weight, user agent); tests/reports/test_demo_setup.py checks how each parses
    (24, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36"),
    (12, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36"),
    (9, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Safari/605.1.15"),
    (16, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/18.1 Mobile/15E148 Safari/604.1"),
    (13, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile "
         "Safari/537.36"),
    (6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36 Edg/131.0.0.0"),
    (5, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (3, "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (3, "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"),
    (3, "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
        "Mobile/15E148 Safari/604.1"),
)  # fmt: skip
PLACES = (  # (weight, country, region, city)
    (14, "US", "US-CA", "San Francisco"), (8, "US", "US-NY", "New York"), (5, "US", "US-TX", "Austin"),
    (9, "DE", "DE-BE", "Berlin"), (4, "DE", "DE-BY", "Munich"), (10, "GB", "GB-ENG", "London"),
    (3, "GB", "GB-SCT", "Edinburgh"), (8, "FR", "FR-IDF", "Paris"), (3, "FR", "FR-ARA", "Lyon"),
    (5, "IN", "IN-KA", "Bengaluru"), (4, "CA", "CA-ON", "Toronto"), (4, "NL", "NL-NH", "Amsterdam"),
    (3, "BR", "BR-SP", "São Paulo"), (3, "ES", "ES-MD", "Madrid"), (2, "SE", "SE-AB", "Stockholm"),
    (2, "JP", "JP-13", "Tokyo"), (2, "AU", "AU-NSW", "Sydney"), (1, "", "", ""),
)  # fmt: skip
# Custom events after a pageview of a path: (path, chance, type, data choices)
CUSTOM_EVENTS = (
    ("/signup", 0.45, "signup", ({"plan": "free"}, {"plan": "free"}, {"plan": "pro"}, {"plan": "team"})),
    ("/docs/install", 0.25, "download", ({"file": "clickmeter-1.4.tar.gz"},)),
    ("/pricing", 0.06, "outbound", ({"url": "https://github.com/clickmeter/clickmeter"},)),
    ("/docs", 0.08, "outbound", ({"url": "https://docs.djangoproject.com/"},)),
)


class Command(BaseCommand):
    help = (
        f"Create the demo organisation, property, keys and admin user with {DAYS} days of traffic up to now; "
        "run again, reuse them and add the traffic since."
    )

    def handle(self, *args, **options):
        credentials_file = settings.VAR_DIR / "demo.json"
        demo = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
        prop = Property.unscoped.filter(public_id=demo.get("property_id")).first()
        now = timezone.now()
        with transaction.atomic():
            if prop is None:
                prop, demo = _demo_create()
                since = None
            else:
                since = datetime.fromisoformat(demo["events_through"]) if "events_through" in demo else None
            events_store(batches=demo_batches(prop, since=since, now=now))
        rollup_refresh_dirty_days(quiet_seconds=0)
        demo["events_through"] = now.isoformat()
        settings.VAR_DIR.mkdir(exist_ok=True)
        credentials_file.write_text(json.dumps(demo, indent=2))
        credentials_file.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Clickmeter demo (also in {credentials_file}):"))
        for label, value in demo.items():
            if label != "events_through":
                self.stdout.write(f"  {label:15} {value}")


def _demo_create() -> tuple[Property, dict]:
    """The demo's organisation, property (new keys) and owner (a new password); the first two reused
    if they exist (the credentials file was lost: its secrets cannot be recovered)."""
    organization = organization_get_or_create(name=ORGANIZATION)
    prop = Property.unscoped.filter(organization=organization, name=PROPERTY).first() or property_create(
        organization=organization, name=PROPERTY, allowed_origins=["http://localhost:8000", "http://127.0.0.1:8000"]
    )
    keys = property_keys_create(property=prop)
    password = secrets.token_urlsafe(12)
    user = User.objects.filter(email=ADMIN_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(ADMIN_EMAIL, password)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    membership_set(user=user, organization=organization, role="owner")
    return prop, {
        "property_id": prop.public_id,
        "write_key": keys["write"],
        "read_key": keys["read"],
        "admin_email": user.email,
        "admin_password": password,
    }


def demo_batches(prop: Property, *, since: datetime | None, now: datetime) -> list[AcceptedBatch]:
    """The demo's visits from `since` (default: DAYS days before today) up to `now`, one batch each,
    checked by the ingest validation itself.

    Each day's visits follow from the day alone (its own seeded generator), event ids included, so
    a day generated again gives the same events and storing them adds nothing: a rerun adds only
    what happened since.
    """
    tz = prop.tzinfo
    today = now.astimezone(tz).date()
    first = today - timedelta(days=DAYS - 1)
    if since is not None:
        first = max(first, since.astimezone(tz).date())
    batches = []
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        for context, events in _day_visits(day, tz=tz):
            events = [event for event in events if datetime.fromisoformat(event["ts"]) <= now]
            if events:
                validated = envelope_validate({"property_id": prop.public_id, "events": events}, received_at=now)
                batches.append(AcceptedBatch(prop.pk, 0, now, validated.events, context))
    return batches


def _day_visits(day: date, *, tz):
    """Yield (request context, events) for each of one day's visits (all of them, today's too)."""
    rng = random.Random(f"clickmeter-demo:{day.isoformat()}")
    season = 1 + SEASON * math.sin(2 * math.pi * day.toordinal() / 365)
    launch = day.toordinal() % LAUNCH_EVERY == 0
    weight = WEEKDAY[day.weekday()] * season * rng.uniform(0.9, 1.1) * (LAUNCH_SPIKE if launch else 1)
    visits = round(VISITS_PER_DAY * weight)
    midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
    for _ in range(visits):
        source = SOURCES[LAUNCH_SOURCE] if launch and rng.random() < 0.7 else _pick(rng, SOURCES)
        _, referrer, landings, campaign = source
        visitor = rng.randrange(2_000) if rng.random() < RETURNING else rng.randrange(2_000, 10**9)
        user_agent, place = _visitor(visitor)
        identity = {"visitor_id": f"v_{visitor:09d}", "session_id": f"s_{rng.getrandbits(64):016x}"}
        hour = rng.choices(range(24), HOURLY)[0]
        ts = midnight + timedelta(hours=hour, seconds=rng.randrange(3600))
        path = rng.choice(landings)
        query = ""
        if campaign:
            campaign_id, utm_source, medium, name, term = campaign
            fields = {"utm_source": utm_source, "utm_medium": medium, "utm_campaign": name, "utm_term": term}
            query = "?" + urlencode({k: v for k, v in {**fields, "campaign_id": campaign_id}.items() if v})
        previous = referrer
        events = []
        for step in range(_pageviews(rng)):
            if step:
                ts += timedelta(seconds=rng.randint(15, 240))
                path = _pick(rng, [(weight, path) for path, (_, weight) in PAGES.items()])[1]
            url = SITE + path + (query if step == 0 else "")
            page = {"url": url, "title": PAGES[path][0], "referrer": previous}
            events.append(_event(rng, "pageview", ts, page, identity))
            previous = url
            for custom_path, chance, kind, data in CUSTOM_EVENTS:
                if path == custom_path and rng.random() < chance:
                    ts += timedelta(seconds=rng.randint(3, 40))
                    events.append(_event(rng, kind, ts, page, identity, data=rng.choice(data)))
        yield {"user_agent": user_agent, **place}, events


def _event(rng, kind: str, ts: datetime, page: dict, identity: dict, data=None) -> dict:
    event = {
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": kind,
        "ts": ts.astimezone(UTC).isoformat(),
        "context": {"page": page},
        "identity": identity,
    }
    if data:
        event["data"] = data
    return event


def _pageviews(rng) -> int:
    """1 to 8 pageviews: about half the visits bounce."""
    return rng.choices(range(1, 9), (46, 17, 11, 8, 6, 5, 4, 3))[0]


def _visitor(number: int) -> tuple[str, dict]:
    """A visitor's device and place, the same on every visit."""
    rng = random.Random(number)
    user_agent = _pick(rng, USER_AGENTS)[1]
    _, country, region, city = _pick(rng, PLACES)
    return user_agent, {"country": country, "region": region, "city": city}


def _pick(rng, weighted):
    return rng.choices(weighted, [entry[0] for entry in weighted])[0]
