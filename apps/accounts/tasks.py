from celery import shared_task

from apps.accounts import services


@shared_task
def expired_refresh_tokens_purge() -> int:
    return services.expired_refresh_tokens_purge()
