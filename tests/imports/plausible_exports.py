"""A site's Plausible CSV export for the tests (written by devtools/plausible.py)."""

import random
from datetime import date, timedelta

from devtools.plausible import COLUMNS


def visit_counts(rng: random.Random) -> dict:
    """A group's visit counts, consistent as Plausible's are: bounces and pageviews within the visits."""
    visits = rng.randint(1, 400)
    return {
        "visitors": rng.randint(max(1, visits // 2), visits),
        "visits": visits,
        "pageviews": visits + rng.randint(0, 3 * visits),
        "bounces": rng.randint(0, visits),
        "visit_duration": rng.randint(0, 300 * visits),
    }


def sample_export(seed: int, first: date, days: int) -> dict[str, list[dict]]:
    """A site's export over `days` days from `first`: each visit table splits the day's visits among
    its values (as a real export's would add up to the day's totals)."""
    rng = random.Random(seed)
    tables: dict[str, list[dict]] = {table: [] for table in COLUMNS}
    values = {
        "sources": [
            {"source": "", "referrer": ""},
            {"source": "Google", "referrer": "google.com"},
            {"source": "Hacker News", "referrer": "news.ycombinator.com/item"},
            {"source": "Newsletter", "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring"},
        ],
        "entry_pages": [{"entry_page": page} for page in ("/", "/pricing", "/blog/one")],
        "exit_pages": [{"exit_page": page} for page in ("/", "/pricing", "/signup")],
        "locations": [
            {"country": "EE", "region": "EE-37", "city": "588409"},
            {"country": "US", "region": "US-CA", "city": "5391959"},
            {"country": "DE", "region": "", "city": "0"},
        ],
        "devices": [{"device": device} for device in ("Desktop", "Mobile", "Tablet", "Laptop")],
        "browsers": [{"browser": b, "browser_version": v} for b, v in (("Chrome", "131.0"), ("Firefox", "133.0"))],
        "operating_systems": [
            {"operating_system": o, "operating_system_version": v} for o, v in (("Mac", "15.1"), ("Windows", "11"))
        ],
    }
    for offset in range(days):
        day = (first + timedelta(days=offset)).isoformat()
        parts = {table: [visit_counts(rng) for _ in options] for table, options in values.items()}
        # The day's totals: those of its sources (every visit has one source).
        summed = {
            name: sum(p[name] for p in parts["sources"])
            for name in ("visitors", "visits", "pageviews", "bounces", "visit_duration")
        }
        tables["visitors"].append({"date": day, **summed})
        for table, options in values.items():
            tables[table] += [
                {"date": day, **option, **counts, "entrances": counts["visits"], "exits": counts["visits"]}
                for option, counts in zip(options, parts[table], strict=True)
            ]
        for page in ("/", "/pricing"):
            counts = visit_counts(rng)
            tables["pages"].append(
                {"date": day, "hostname": "example.com", "page": page, "total_scroll_depth": "", **counts}
            )
        for name in ("Signup", "Outbound Link: Click", "engagement"):
            tables["custom_events"].append(
                {"date": day, "name": name, "link_url": "", "path": "", "visitors": 3, "events": rng.randint(3, 9)}
            )
    return tables
