"""Dashboard periods: named ranges, custom ranges and their errors, intervals, the previous period."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from apps.reports.periods import (
    MAX_DAYS,
    RANGES,
    Period,
    PeriodError,
    period_from_params,
    period_named,
    property_today,
)
from tests.conftest import session_client_for
from tests.factories import PropertyFactory

TODAY = date(2026, 3, 15)


def period(query: str, today: date = TODAY) -> Period:
    return period_from_params(QueryDict(query), today=today)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("range=today", (date(2026, 3, 15), date(2026, 3, 15))),
        ("range=yesterday", (date(2026, 3, 14), date(2026, 3, 14))),
        ("range=7d", (date(2026, 3, 9), date(2026, 3, 15))),
        ("range=30d", (date(2026, 2, 14), date(2026, 3, 15))),
        ("range=month", (date(2026, 3, 1), date(2026, 3, 15))),
        ("range=last_month", (date(2026, 2, 1), date(2026, 2, 28))),
        ("range=12mo", (date(2025, 3, 16), date(2026, 3, 15))),
        ("range=custom&from=2026-01-05&to=2026-01-20", (date(2026, 1, 5), date(2026, 1, 20))),
    ],
)
def test_each_range_covers_the_days_it_names(query, expected):
    found = period(query)
    assert (found.date_from, found.date_to) == expected


def test_no_range_means_the_last_30_days_and_dates_alone_mean_a_custom_range():
    assert period("") == period_named("30d", today=TODAY)
    assert period("from=2026-01-01&to=2026-01-02") == Period(date(2026, 1, 1), date(2026, 1, 2), "custom")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 1, 1), (date(2025, 12, 1), date(2025, 12, 31))),
        (date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
        (date(2028, 3, 1), (date(2028, 2, 1), date(2028, 2, 29))),
    ],
)
def test_last_month_crosses_year_ends_and_knows_february(today, expected):
    found = period_named("last_month", today=today)
    assert (found.date_from, found.date_to) == expected


def test_this_month_on_the_first_is_that_day_alone():
    assert period_named("month", today=date(2026, 5, 1)) == Period(date(2026, 5, 1), date(2026, 5, 1), "month")


def test_last_12_months_from_a_leap_day_ends_today_and_starts_after_the_shorter_february():
    found = period_named("12mo", today=date(2028, 2, 29))
    assert (found.date_from, found.date_to) == (date(2027, 3, 1), date(2028, 2, 29))
    assert found.days == 366


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("range=custom&to=2026-01-01", "from", "Enter the start date"),
        ("range=custom&from=2026-01-01", "to", "Enter the end date"),
        ("range=custom&from=yesterday&to=2026-01-01", "from", "must be a date like 2026-01-31"),
        ("range=custom&from=2026-01-01&to=2026-02-30", "to", "must be a date like 2026-01-31"),
        ("range=custom&from=2026-02-01&to=2026-01-01", "from", "must not be after the end date"),
        (f"range=custom&from=2000-01-01&to={date(2000, 1, 1) + timedelta(days=MAX_DAYS)}", "from", "at most"),
        ("range=fortnight", "range", "Unknown range"),
        ("range=custom&from=0001-01-01&to=0001-01-02", "from", "a day from 1970-01-01 to 2999-12-31"),
        ("range=custom&from=2026-01-01&to=9999-12-31", "to", "a day from 1970-01-01 to 2999-12-31"),
        ("range=custom&from=20260101&to=2026-01-02", "from", "must be a date like 2026-01-31"),
    ],
)
def test_bad_ranges_are_refused_with_a_message_naming_the_field(query, field, message):
    with pytest.raises(PeriodError) as refused:
        period(query)
    assert refused.value.field == field
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("days", "interval"),
    [(1, "hour"), (2, "day"), (92, "day"), (93, "week"), (366, "week"), (367, "month"), (3000, "month")],
)
def test_the_interval_grows_with_the_range(days, interval):
    assert Period(TODAY - timedelta(days=days - 1), TODAY).interval == interval


def test_named_ranges_get_hourly_daily_and_weekly_charts():
    intervals = {name: period_named(name, today=TODAY).interval for name in RANGES if name != "custom"}
    assert intervals == {
        "today": "hour",
        "yesterday": "hour",
        "7d": "day",
        "30d": "day",
        "month": "day",
        "last_month": "day",
        "12mo": "week",
    }


def test_labels_name_the_range_or_the_dates():
    assert period("range=7d").label == "Last 7 days"
    assert Period(date(2026, 1, 5), date(2026, 1, 20)).label == "5 Jan 2026 \u2013 20 Jan 2026"
    assert Period(date(2026, 1, 5), date(2026, 1, 5)).label == "5 Jan 2026"


def test_the_previous_period_of_last_month_is_as_long_and_just_before():
    previous = period_named("last_month", today=TODAY).previous()
    assert (previous.date_from, previous.date_to) == (date(2026, 1, 4), date(2026, 1, 31))


@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    length=st.integers(min_value=1, max_value=MAX_DAYS),
)
def test_the_previous_period_has_the_same_length_and_ends_the_day_before(start, length):
    current = Period(start, start + timedelta(days=length - 1))
    previous = current.previous()
    assert previous.days == current.days
    assert previous.date_to == current.date_from - timedelta(days=1)
    assert previous.interval == current.interval


@given(
    today=st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)),
    name=st.sampled_from([name for name in RANGES if name != "custom"]),
)
def test_every_named_range_ends_today_or_before_and_fits_the_limit(today, name):
    found = period_named(name, today=today)
    assert found.date_from <= found.date_to <= today
    assert found.days <= MAX_DAYS
    assert found.range == name


@pytest.mark.django_db
def test_today_is_the_propertys_own_day():
    now = datetime(2026, 3, 15, 23, 30, tzinfo=UTC)
    assert property_today(PropertyFactory(timezone="UTC"), now=now) == date(2026, 3, 15)
    assert property_today(PropertyFactory(timezone="Asia/Tokyo"), now=now) == date(2026, 3, 16)
    assert property_today(PropertyFactory(timezone="America/Los_Angeles"), now=now) == date(2026, 3, 15)
    early = datetime(2026, 3, 15, 3, 0, tzinfo=UTC)
    assert property_today(PropertyFactory(timezone="America/Los_Angeles"), now=early) == date(2026, 3, 14)


@pytest.mark.django_db
@pytest.mark.parametrize("day", ["1970-01-01", "2999-12-31"])
@pytest.mark.parametrize("timezone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_first_and_last_days_show_a_dashboard_with_its_previous_period(tenant_a, day, timezone):
    tenant_a.property.timezone = timezone
    tenant_a.property.save()
    client = session_client_for(tenant_a.viewer)
    response = client.get(f"/properties/{tenant_a.property.public_id}/?range=custom&from={day}&to={day}")
    assert response.status_code == 200
