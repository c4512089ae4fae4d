from celery import shared_task

from apps.core.tasks import RETRY_OPTIONS
from apps.imports import services
from apps.imports.models import Import


@shared_task(**RETRY_OPTIONS)
def import_run(import_id: int) -> str:
    """Load an uploaded import (services.import_run); its status says how it went."""
    found = Import.unscoped.select_related("property").filter(pk=import_id).first()
    if found is None:
        return "deleted"  # deleted before it ran
    return services.import_run(found).status
