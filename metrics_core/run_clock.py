"""The run clock: what "now" is for one run.

A run may say what time it is with the run tag `metrics/now` (ISO 8601, UTC, e.g.
`metrics/now=2026-10-02T06:00:00Z`); without it the clock is the wall clock. Replaying past
mornings, and tests, set it so a run behaves as that morning's run did: the raw layer lands only
what had landed by then, the checks judge freshness against it, publication applies its
closed-period and completeness rules to it, and no day that is not over yet is run or published.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

RUN_CLOCK_TAG = "metrics/now"


class RunClockError(ValueError):
    """The run tag metrics/now is not a valid UTC instant."""


class IncompleteDayError(RuntimeError):
    """A run asked for a day that is not over yet at the run clock (today or the future)."""


def wall_clock() -> datetime:
    """Naive UTC now (the warehouse stores naive UTC timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def parse_now(value: str) -> datetime:
    """A `metrics/now` tag value as naive UTC; an offset is converted, a bad value names the tag."""
    text = value.strip()
    if not text:
        raise RunClockError(
            f"run tag {RUN_CLOCK_TAG} is blank; give an ISO instant like 2026-10-02T06:00:00Z"
        )
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RunClockError(
            f"run tag {RUN_CLOCK_TAG}={value!r} is not an ISO 8601 instant (e.g. 2026-10-02T06:00:00Z)"
        ) from None
    if t.tzinfo is not None:
        t = t.astimezone(UTC).replace(tzinfo=None)
    return t


def now_from_tags(tags: Mapping[str, str] | None) -> datetime:
    """The run's clock: the `metrics/now` tag if set, else the wall clock."""
    value = (tags or {}).get(RUN_CLOCK_TAG)
    return parse_now(value) if value is not None else wall_clock()


def run_now(context) -> datetime:
    """The clock of the run a Dagster asset, check or hook context belongs to."""
    run = getattr(context, "run", None)
    if run is None and hasattr(context, "instance") and hasattr(context, "run_id"):
        run = context.instance.get_run_by_id(context.run_id)
    return now_from_tags(run.tags if run is not None else None)


def last_complete_day(now: datetime) -> date:
    """The newest UTC day that is over at `now` (yesterday)."""
    return now.date() - timedelta(days=1)


def incomplete_days(days: Iterable[date], now: datetime) -> list[date]:
    """Days that are not over at `now`: today and later."""
    last = last_complete_day(now)
    return sorted(d for d in days if d > last)


def refusal_message(what: str, days: Iterable[date], now: datetime) -> str:
    """Why `what` refuses the days that are not over yet; names the first and the clock."""
    bad = incomplete_days(days, now)
    return (
        f"{what}: refused {len(bad)} day(s) not over yet, first {bad[0]}: the last complete day is "
        f"{last_complete_day(now)} at now={now:%Y-%m-%dT%H:%M:%SZ} (run clock, tag {RUN_CLOCK_TAG})"
    )


def refuse_incomplete(what: str, days: Iterable[date], now: datetime) -> None:
    """Raise IncompleteDayError naming the first day of `days` that is not over at `now`."""
    days = list(days)
    if incomplete_days(days, now):
        raise IncompleteDayError(refusal_message(what, days, now))
