import json
import random
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import membership_set, organization_get_or_create
from apps.ingestion.schema import envelope_validate
from apps.ingestion.services import AcceptedBatch, events_store
from apps.keys.services import property_keys_create
from apps.properties.models import Property
from apps.properties.services import property_create
from apps.reports.services import rollup_refresh_dirty_days

PATHS = ["/", "/pricing", "/docs", "/docs/install", "/blog", "/blog/privacy-first", "/about", "/signup"]
CAMPAIGNS = [("", "", ""), ("", "newsletter", "email"), ("cmp_spring", "google", "cpc"), ("", "launch", "social")]
REFERRERS = [
    "",
    "",
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "https://t.co/x",
    "https://duckduckgo.com/",
]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
]
PLACES = [
    {"country": "GB", "region": "GB-ENG", "city": "London"},
    {"country": "DE", "region": "DE-BE", "city": "Berlin"},
    {"country": "US", "region": "US-CA", "city": "San Francisco"},
    {"country": "FR", "region": "FR-IDF", "city": "Paris"},
]


class Command(BaseCommand):
    help = "Create the demo organisation, property, keys, admin user and 30 days of events (once)."

    def handle(self, *args, **options):
        credentials_file = settings.VAR_DIR / "demo.json"
        if credentials_file.exists():
            demo = json.loads(credentials_file.read_text())
            if Property.objects.filter(public_id=demo["property_id"]).exists():
                self._print(demo)
                return
        demo = self._create()
        settings.VAR_DIR.mkdir(exist_ok=True)
        credentials_file.write_text(json.dumps(demo, indent=2))
        credentials_file.chmod(0o600)
        self._print(demo)

    @transaction.atomic
    def _create(self) -> dict:
        organization = organization_get_or_create(name="Demo")
        prop = property_create(
            organization=organization,
            name="Demo site",
            allowed_origins=["http://localhost:8000", "http://127.0.0.1:8000"],
        )
        keys = property_keys_create(property=prop)
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(email="admin@example.com").first()
        if user is None:
            user = User.objects.create_superuser("admin@example.com", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        membership_set(user=user, organization=organization, role="owner")
        events_store(batches=_demo_batches(prop))
        rollup_refresh_dirty_days(quiet_seconds=0)
        return {
            "property_id": prop.public_id,
            "write_key": keys["write"],
            "read_key": keys["read"],
            "admin_email": user.email,
            "admin_password": password,
        }

    def _print(self, demo: dict) -> None:
        self.stdout.write(self.style.SUCCESS("Clickmeter demo (also in var/demo.json):"))
        for label, value in demo.items():
            self.stdout.write(f"  {label:15} {value}")


def _demo_batches(prop: Property) -> list[AcceptedBatch]:
    """Thirty days of made-up visits, one batch each, checked by the ingest validation itself."""
    rng = random.Random(7)
    now = timezone.now()
    batches = []
    for days_ago in range(30):
        for _ in range(rng.randint(20, 60)):
            identity = {"visitor_id": f"v_{rng.getrandbits(48):012x}", "session_id": uuid.uuid4().hex}
            campaign_id, source, medium = rng.choice(CAMPAIGNS)
            campaign = {"campaign_id": campaign_id, "utm": {"source": source, "medium": medium}}
            if source:
                campaign["utm"]["campaign"] = "spring-sale"
            referrer = rng.choice(REFERRERS)
            start = now - timedelta(days=days_ago, seconds=rng.randint(0, 86_000))
            events = []
            for step in range(rng.randint(1, 5)):
                path = rng.choice(PATHS)
                page = {"url": f"http://localhost:8000{path}", "title": path.strip("/").title() or "Home"}
                page["referrer"] = referrer if step == 0 else "http://localhost:8000/"
                events.append(
                    {
                        "type": "pageview" if step or rng.random() > 0.1 else "signup",
                        "ts": min(start + timedelta(seconds=40 * step), now).isoformat(),
                        "context": {"page": page, "campaign": campaign},
                        "identity": identity,
                    }
                )
            envelope = {"property_id": prop.public_id, "events": events}
            validated = envelope_validate(envelope, received_at=now)
            context = {"user_agent": rng.choice(USER_AGENTS), **rng.choice(PLACES)}
            batches.append(AcceptedBatch(prop.pk, 0, now, validated.events, context))
    return batches
