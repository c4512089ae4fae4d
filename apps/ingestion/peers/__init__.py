"""Other analytics servers' trackers, unchanged: each peer's request as Clickmeter envelope events.

Each module reads one peer's payload and returns events in the envelope's shape (apps/ingestion/
schema.py), which then take the same path as `POST /v1/events`: validation, origin check, bot
filter, enrichment, rate limits and the buffer. Nothing here touches the database.
"""

from apps.core.api import ApplicationError
from apps.ingestion.identity import secret_hash


def person_id_hash(value: str, *, property_public_id: str) -> str:
    """A person id a peer tracker sends (once identified, often an email) as Clickmeter keeps it: a
    keyed hash, the same for the same id within a property, from which the id cannot be read back."""
    return secret_hash(property_public_id, value)[:32]


def object_field(parent: dict, name: str) -> dict:
    """`parent[name]` as an object ({} when absent); a 400 naming the field when it is something else."""
    value = parent.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApplicationError("invalid_field", f"{name} must be an object.", field=name)
    return value


def text_field(parent: dict, name: str) -> str:
    """`parent[name]` as text ("" when absent); numbers are written out, anything else is a 400."""
    value = parent.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApplicationError("invalid_field", f"{name} must be a string.", field=name)
    return str(value)
