"""The dashboard's date ranges: named ranges (`range=7d`) and custom ones (`from`, `to`), in the
property's own days, with the chart interval each deserves and the period to compare with."""

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from apps.properties.models import Property

# Range name -> label, in the order the period picker lists them.
RANGES = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "last_month": "Last month",
    "12mo": "Last 12 months",
    "custom": "Custom range",
}
DEFAULT_RANGE = "30d"
# The reporting API's bound too: about ten years.
MAX_DAYS = 3660
# The days a range may name (the API's schema states them as a pattern): every day any event can
# have (ingest refuses timestamps before 2000), and none whose previous period or timezone shift
# would leave the calendar.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
DAY_PATTERN = r"^(?:19[7-9][0-9]|2[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"
# Chart buckets by the range's length in days: hours for one day, days up to a quarter, weeks up
# to a year (so "last 12 months" is about 53 points), months beyond.
HOURLY_MAX_DAYS = 1
DAILY_MAX_DAYS = 92
WEEKLY_MAX_DAYS = 366


class PeriodError(ValueError):
    """A range the dashboard cannot show; `field` names the query parameter at fault."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Period:
    """Inclusive property-local days `date_from`..`date_to`, and the named range they came from."""

    date_from: date
    date_to: date
    range: str = "custom"

    def __post_init__(self):
        if self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def interval(self) -> str:
        """The time series' bucket: hour, day, week or month."""
        if self.days <= HOURLY_MAX_DAYS:
            return "hour"
        if self.days <= DAILY_MAX_DAYS:
            return "day"
        return "week" if self.days <= WEEKLY_MAX_DAYS else "month"

    @property
    def label(self) -> str:
        if self.range != "custom":
            return RANGES[self.range]
        if self.days == 1:
            return _day_label(self.date_from)
        return f"{_day_label(self.date_from)} \u2013 {_day_label(self.date_to)}"

    def previous(self) -> "Period":
        """The period of the same length that ends the day before this one starts."""
        return Period(self.date_from - timedelta(days=self.days), self.date_from - timedelta(days=1))


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def property_today(prop: Property, *, now: datetime | None = None) -> date:
    """The current day in the property's timezone."""
    return (now or timezone.now()).astimezone(prop.tzinfo).date()


def _months_before(day: date, months: int) -> date:
    """The same day of the month `months` earlier, or that month's last day if it is shorter."""
    year, month_index = divmod(day.year * 12 + day.month - 1 - months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_named(range_name: str, *, today: date) -> Period:
    """The period of a named range (any of RANGES but custom) as seen on `today`."""
    if range_name == "today":
        return Period(today, today, range_name)
    if range_name == "yesterday":
        yesterday = today - timedelta(days=1)
        return Period(yesterday, yesterday, range_name)
    if range_name == "7d":
        return Period(today - timedelta(days=6), today, range_name)
    if range_name == "30d":
        return Period(today - timedelta(days=29), today, range_name)
    if range_name == "month":
        return Period(today.replace(day=1), today, range_name)
    if range_name == "last_month":
        last_day = today.replace(day=1) - timedelta(days=1)
        return Period(last_day.replace(day=1), last_day, range_name)
    if range_name == "12mo":
        return Period(_months_before(today, 12) + timedelta(days=1), today, range_name)
    raise PeriodError(f"Unknown range {range_name!r}; choose one of the ranges offered.", field="range")


def day_parse(value: str) -> date:
    """`value`, written YYYY-MM-DD, as a day from FIRST_DAY to LAST_DAY; else a ValueError whose
    message completes "… must be "."""
    try:
        day = date.fromisoformat(value) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) else None
    except ValueError:  # February 30th
        day = None
    if day is None:
        raise ValueError("a date like 2026-01-31")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def _custom_date(params: Mapping[str, str], name: str, description: str) -> date:
    value = (params.get(name) or "").strip()
    if not value:
        raise PeriodError(f"Enter the {description} of the custom range.", field=name)
    try:
        return day_parse(value)
    except ValueError as error:
        raise PeriodError(f"The {description} must be {error}.", field=name) from None


def period_from_params(params: Mapping[str, str], *, today: date) -> Period:
    """The period a dashboard URL asks for: `range` (DEFAULT_RANGE if absent), or `from` and `to`
    (inclusive dates) with `range=custom` or no range. Raise PeriodError for anything else."""
    range_name = params.get("range") or ("custom" if "from" in params or "to" in params else DEFAULT_RANGE)
    if range_name != "custom":
        return period_named(range_name, today=today)
    date_from = _custom_date(params, "from", "start date")
    date_to = _custom_date(params, "to", "end date")
    if date_from > date_to:
        raise PeriodError("The start date must not be after the end date.", field="from")
    if (date_to - date_from).days >= MAX_DAYS:
        raise PeriodError(f"A range may span at most {MAX_DAYS} days.", field="from")
    return Period(date_from, date_to)
