"""The check library's engine: evaluate a catalogue check for every day of a window.

A check implementation is a function `(ctx, days) -> list[DayResult]` that runs one grouped SQL
query for the whole window (never one query per day, never whole tables in pandas). The same
implementation feeds the Dagster asset checks, the CI runner and the tests, so what the on-call
engineer sees in Dagster is exactly what CI asserted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from checks.registry import CheckDef, Severity, catalogue
from checks.settings import CheckSettings, check_settings
from checks.vocabulary import CUSTOM
from resources.warehouse import Warehouse
from resources.warehouse_lock import WarehouseBusy

if TYPE_CHECKING:
    import pandas as pd  # imported where a frame is built: not at the definitions load

PASS, FAIL, SKIP, ERROR_STATUS = "pass", "fail", "skip", "error"


@dataclass(frozen=True)
class DayResult:
    """What one check measured for one UTC day. passed=None means not evaluable (e.g. no history)."""

    day: date
    passed: bool | None
    value: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckOutcome:
    """One evaluation of one catalogue check for one day; a row of ops.check_history."""

    check: str
    asset: str
    failure_mode: str
    pipeline: str
    severity: str
    runbook: str
    day: date
    status: str  # pass | fail | skip | error (error = could not evaluate; treated as a failure)
    value: float | None
    baseline: float | None
    threshold: float | None
    message: str
    details: dict[str, Any]
    run_id: str
    evaluated_at: datetime

    @property
    def failed(self) -> bool:
        return self.status in (FAIL, ERROR_STATUS)

    @property
    def is_error_failure(self) -> bool:
        return self.failed and self.severity == Severity.ERROR.value

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["day"] = self.day.isoformat()
        d["evaluated_at"] = self.evaluated_at.isoformat()
        return d


@dataclass
class EvalContext:
    """What an implementation may use: the warehouse, the thresholds and the clock."""

    warehouse: Warehouse
    settings: CheckSettings
    now: datetime  # naive UTC; freshness of the current day is judged against it
    # results shared by the checks of one step (same data, same window): e.g. the raw app_events
    # metric counts two checks read; evaluate() callers pass one dict per step, or none
    memo: dict[Any, Any] = field(default_factory=dict)

    def df(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        return self.warehouse.query_df(sql, params)

    def by_day(self, sql: str, params: Sequence[Any] | None = None) -> dict[date, dict[str, Any]]:
        """Run a query returning a `day` column; rows keyed by day (the query groups by day)."""
        frame = self.df(sql, params)
        out: dict[date, dict[str, Any]] = {}
        for row in frame.to_dict("records"):
            out[to_date(row.pop("day"))] = row
        return out


Implementation = Callable[[EvalContext, list[date]], list[DayResult]]
IMPLEMENTATIONS: dict[tuple[str, str], Implementation] = {}


def implements(asset: str, name: str) -> Callable[[Implementation], Implementation]:
    """Register the implementation of catalogue check `asset:name`."""

    def deco(fn: Implementation) -> Implementation:
        if (asset, name) in IMPLEMENTATIONS:
            raise ValueError(f"check {asset}:{name} implemented twice")
        IMPLEMENTATIONS[(asset, name)] = fn
        return fn

    return deco


KindImplementation = Callable[[EvalContext, list[date], CheckDef], list[DayResult]]
KINDS: dict[str, KindImplementation] = {}


def kind(name: str) -> Callable[[KindImplementation], KindImplementation]:
    """Register the one implementation of check kind `name` (checks/vocabulary.py)."""

    def deco(fn: KindImplementation) -> KindImplementation:
        if name in KINDS:
            raise ValueError(f"check kind {name} implemented twice")
        KINDS[name] = fn
        return fn

    return deco


def load_implementations() -> dict[tuple[str, str], Implementation]:
    """Import the modules that register implementations (kept lazy to avoid import cycles)."""
    # deferred: the implementation modules register into this one (they import it)
    from checks import engagement, experiments, growth, kinds, nulls, profit, sources  # noqa: F401

    return IMPLEMENTATIONS


def implementation_of(check: CheckDef) -> Implementation | None:
    """The function that evaluates `check`: its kind's, or (kind custom) its own."""
    own = load_implementations().get((check.asset, check.name))
    if check.kind == CUSTOM:
        return own
    if own is not None:
        raise ValueError(f"check {check.key} is of kind {check.kind} and has its own implementation too")
    impl = KINDS.get(check.kind)
    return None if impl is None else (lambda ctx, days: impl(ctx, days, check))


def to_date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    # deferred: pandas costs ~0.4 s at import; the definitions load must not pay it
    import pandas as pd

    return pd.Timestamp(v).date()


def num(v: Any) -> float | None:
    """A finite float or None (NaN/NULL become None) for metadata and history."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def days_between(start: date, end: date) -> list[date]:
    """UTC days in [start, end)."""
    return [start + timedelta(days=i) for i in range((end - start).days)]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def evaluate(
    check: CheckDef,
    warehouse: Warehouse,
    days: list[date],
    *,
    run_id: str = "",
    settings: CheckSettings | None = None,
    now: datetime | None = None,
    memo: dict[Any, Any] | None = None,
) -> list[CheckOutcome]:
    """Evaluate one check for every day; an implementation error fails every day (fail closed)."""
    impl = implementation_of(check)
    ctx = EvalContext(warehouse, settings or check_settings(), now or utc_now(),
                      memo if memo is not None else {})
    stamp = utc_now()
    if impl is None:
        results = [DayResult(d, False, message=f"check {check.key} has no implementation") for d in days]
        statuses = [ERROR_STATUS] * len(days)
    else:
        try:
            by_day = {r.day: r for r in impl(ctx, days)}
            results = [by_day.get(d) or DayResult(d, None, message="no result for this day") for d in days]
            statuses = [PASS if r.passed else SKIP if r.passed is None else FAIL for r in results]
        except WarehouseBusy:  # the file is in use: not a result about the data, never recorded
            raise
        except Exception as exc:  # a missing table or renamed column must fail, not crash the run
            msg = f"could not evaluate {check.key}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            results = [DayResult(d, False, message=msg) for d in days]
            statuses = [ERROR_STATUS] * len(days)
    return [
        CheckOutcome(
            check=check.name,
            asset=check.asset,
            failure_mode=check.failure_mode,
            pipeline=check.pipeline,
            severity=check.severity.value,
            runbook=check.runbook_link,
            day=r.day,
            status=s,
            value=num(r.value),
            baseline=num(r.baseline),
            threshold=num(r.threshold),
            message=r.message,
            details=r.details,
            run_id=run_id,
            evaluated_at=stamp,
        )
        for r, s in zip(results, statuses, strict=True)
    ]


def run_all_checks(
    warehouse: Warehouse,
    start: date,
    end: date,
    *,
    run_id: str = "",
    checks: Sequence[CheckDef] | None = None,
    settings: CheckSettings | None = None,
    now: datetime | None = None,
) -> list[CheckOutcome]:
    """Every catalogue check (or `checks`) for every UTC day in [start, end), without materializing.

    Used by the CI runner (`metrics checks run`), the detection-matrix and clean-year tests.
    """
    days = days_between(start, end)
    if not days:
        raise ValueError(f"empty check window: start {start} must be before end {end}")
    out: list[CheckOutcome] = []
    memo: dict[Any, Any] = {}  # one window, one warehouse state: shared intermediate results
    for check in checks or catalogue().checks:
        out.extend(evaluate(check, warehouse, days, run_id=run_id, settings=settings, now=now, memo=memo))
    return out
