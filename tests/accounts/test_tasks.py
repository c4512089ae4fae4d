from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.tasks import expired_refresh_tokens_purge
from config.celery import app

pytestmark = pytest.mark.django_db


def test_expired_refresh_tokens_are_purged_and_live_ones_kept(tenant_a):
    live = RefreshToken.for_user(tenant_a.owner)
    expired = RefreshToken.for_user(tenant_a.admin)
    expired.blacklist()
    OutstandingToken.objects.filter(jti=expired["jti"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expired_refresh_tokens_purge.delay().get() == 2  # the token and its blacklist entry

    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert not BlacklistedToken.objects.exists()


def test_beat_purges_expired_refresh_tokens_daily():
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule[expired_refresh_tokens_purge.name] == 24 * 3600
