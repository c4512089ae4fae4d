import uuid
from datetime import UTC, datetime

from apps.ingestion.schema import TEXT_LIMITS


def validated_event(**fields) -> dict:
    """An event as the ingest view hands it on: the output of schema.envelope_validate."""
    event = dict.fromkeys(TEXT_LIMITS, "")
    event.update(event_id=str(uuid.uuid4()), type="pageview", ts=datetime.now(UTC).isoformat(), data={})
    event.update(fields)
    return event
