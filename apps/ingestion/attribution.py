"""Where a visit came from: page host, UTM fields from the URL, referrer host, source and channel.

Sources come from `data/referrer_sources.json` (see its `about`); channels follow the common
default grouping: direct, organic search, paid search, social, email, referral, paid other.
"""

import json
import re
from functools import cache, lru_cache
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SOURCES_FILE = Path(__file__).parent / "data" / "referrer_sources.json"
UTM_FIELDS = ("source", "medium", "campaign", "term", "content")
PAID_MEDIUM = re.compile(r"^(cpc|ppc|cpm|cpv|cpa|paid.*|display|banner|retargeting)$", re.I)
EMAIL_WORDS = frozenset({"email", "e-mail", "e_mail", "newsletter", "mail"})
SOCIAL_MEDIUM = re.compile(r"^(social|social-network|social-media|sm|social network|social media)$", re.I)


@cache
def _sources() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(host -> (source, medium), utm_source word -> (source, medium)).

    A source is known to utm_source by its lower-cased name and by the first label of its first
    host ("google" for google.com), when that label is longer than two letters.
    """
    by_host, by_word = {}, {}
    for medium, sources in json.loads(SOURCES_FILE.read_text())["sources"].items():
        for name, hosts in sources.items():
            by_word[name.lower()] = (name, medium)
            label = hosts[0].split(".")[0]
            if len(label) > 2:
                by_word.setdefault(label, (name, medium))
            for host in hosts:
                by_host[host] = (name, medium)
    return by_host, by_word


@lru_cache(maxsize=4096)
def _host_source(host: str) -> tuple[str, str] | None:
    """The source of a host or of the nearest parent domain listed (www.google.com -> google.com)."""
    by_host = _sources()[0]
    labels = host.split(".")
    for start in range(len(labels) - 1):
        found = by_host.get(".".join(labels[start:]))
        if found:
            return found
    return None


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def attribution(*, url: str, referrer: str, event: dict) -> dict[str, str]:
    """Fill page host, UTM fields and campaign_id from the URL (the envelope's own values win),
    then the referrer host (blank for a self-referral), the source and the channel."""
    hostname = _host(url)
    fields = {f"utm_{name}": event[f"utm_{name}"] for name in UTM_FIELDS}
    fields["campaign_id"] = event["campaign_id"]
    if url and "?" in url:
        try:
            query = parse_qs(urlsplit(url).query)
        except ValueError:
            query = {}
        for name in [*fields]:
            if not fields[name] and query.get(name):
                # Percent-decoded, so it may hold a NUL, which no database text column takes.
                fields[name] = query[name][0].replace("\x00", "")[: 256 if name.startswith("utm_") else 128]
    referrer_host = _host(referrer)
    if referrer_host and referrer_host == hostname:
        referrer_host = ""
    known = _host_source(referrer_host) if referrer_host else None
    utm_known = _sources()[1].get(fields["utm_source"].lower()) if fields["utm_source"] else None
    source = (known or utm_known or (referrer_host or fields["utm_source"], ""))[0]
    medium = (known or utm_known or ("", ""))[1]
    return {
        "hostname": hostname[:253],
        "referrer_host": referrer_host[:253],
        "source": source[:128],
        "channel": _channel(medium=medium, referrer_host=referrer_host, utm=fields),
        **fields,
    }


def _channel(*, medium: str, referrer_host: str, utm: dict[str, str]) -> str:
    utm_medium, utm_source = utm["utm_medium"].lower(), utm["utm_source"].lower()
    if PAID_MEDIUM.match(utm_medium):
        return "paid search" if medium == "search" else "paid other"
    if utm_medium in EMAIL_WORDS or utm_source in EMAIL_WORDS or medium == "email":
        return "email"
    if medium == "search" or utm_medium == "organic":
        return "organic search"
    if medium == "social" or SOCIAL_MEDIUM.match(utm_medium):
        return "social"
    if not referrer_host and not utm_source and not utm_medium:
        return "direct"
    return "referral"
