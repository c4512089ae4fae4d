import time
from collections.abc import Callable, Hashable


class ShortLivedCache:
    """A per-process cache whose entries live `seconds`: it bounds how stale a lookup can be (a
    revoked key, a changed origin list) while sparing the database a query per request."""

    def __init__(self, seconds: float, max_entries: int = 10_000):
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, object]] = {}

    def get_or_compute(self, key: Hashable, compute: Callable[[], object]):
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = compute()
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now + self.seconds, value)
        return value

    def clear(self) -> None:
        self._entries.clear()
