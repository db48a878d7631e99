"""Measure the anomaly detector on generated daily volumes: detection of injected faults, false alerts.

For each seed, the generator fills raw.orders, raw.users and raw.app_events for the evaluation
period; the script counts rows per day (the series the volume checks score) and, for every
scorable day, scores the clean value and the value after each fault, one fault at a time on
otherwise clean history (the check-day's own value never enters its baseline, so this is
exactly what the check would see on that day):

    volume_drop 30% (and 20%, 50%)  n - round(share * n)     (metrics_assets.generator.faults volume_drop)
    zero_rows                       0                        (metrics_assets.generator.faults zero_rows)
    duplicate_load                  2 n                      (metrics_assets.generator.faults duplicate_load)
    bot_spike +30%                  n + round(0.3 * n)       (metrics_assets.generator.faults bot_spike)

`--verify-sql K` applies the real faults to the raw tables on K days per fault and checks that
the recounted partition equals the modelled value (then reverts). The same days are scored by
two anchor rules for comparison: the runbook's literal "deviation from the trailing 7-day
mean" at the same floor, and an Elementary-style z-score (14 days including the scored one, |z|>3).

Usage:
    python scripts/evaluate_detection.py                    # writes benchmarks/detection.md
    python scripts/evaluate_detection.py --seeds 1 --days 200 --out /tmp/detection.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks.anomaly import anomaly_params, detect, detect_trailing_mean, fill_days  # noqa: E402
from metrics_assets.generator import ensure_raw_tables, write_partitions  # noqa: E402
from metrics_assets.generator.faults import inject, revert  # noqa: E402
from metrics_core.paths import config_dir  # noqa: E402
from metrics_core.rules import world  # noqa: E402
from metrics_core.sources import SOURCES  # noqa: E402

# series scored -> the check config (config/checks.yaml) holding its business floor
SERIES = {
    "orders": ("profit", "orders_volume"),
    "app_events": ("engagement", "events_volume"),
    "users": ("growth", "new_users_deviation"),
}
SCENARIOS = {  # name -> (fault name, modelled value from the clean count n)
    "drop 30%": ("volume_drop", lambda n: n - round(0.3 * n)),
    "zero rows": ("zero_rows", lambda n: 0),
    "duplicate load": ("duplicate_load", lambda n: 2 * n),
    "bot spike +30%": ("bot_spike", lambda n: n + round(0.3 * n)),
    "drop 20%": ("volume_drop", lambda n: n - round(0.2 * n)),
    "drop 50%": ("volume_drop", lambda n: n - round(0.5 * n)),
}
TARGETS = {"drop 30%": 0.95, "zero rows": 1.0, "duplicate load": 1.0, "bot spike +30%": 0.75}
FP_TARGET = 0.003
FAULT_PARAMS = {
    "drop 30%": {"share": 0.3},
    "drop 20%": {"share": 0.2},
    "drop 50%": {"share": 0.5},
    "bot spike +30%": {"share": 0.3},
}


@dataclass
class Tally:
    days: int = 0
    hits: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, hit: bool) -> None:
        self.hits[key] = self.hits.get(key, 0) + int(hit)

    def rate(self, key: str) -> float:
        return self.hits.get(key, 0) / self.days if self.days else float("nan")


# A stress series: the generated orders with a strong weekend dip (shared/notes/data-quality.md §5.7:
# Saturday x0.70, Sunday x0.62), where trailing-mean rules break; scored with the orders floor.
WEEKEND = "orders, weekend dip"
WEEKEND_FACTORS = (1.0, 1.0, 1.0, 1.0, 1.0, 0.70, 0.62)


def floor_for(series: str) -> float:
    cfg = yaml.safe_load((config_dir() / "checks.yaml").read_text())
    section, key = SERIES["orders" if series == WEEKEND else series]
    try:
        return float(cfg[section][key]["floor_pct"])
    except (KeyError, TypeError):
        return anomaly_params().floor("volume")


def generate_counts(seed: int, sf: float, launch: date, end: date, chunk_days: int = 31) -> dict[str, dict]:
    """Daily row counts of the scored sources, generated chunk by chunk in memory (rows are dropped)."""
    counts: dict[str, dict[date, float]] = {s: {} for s in SERIES}
    with duckdb.connect() as con:
        ensure_raw_tables(con)
        start = launch + timedelta(days=1)  # launch day itself: no users yet, no events (generator)
        while start < end:
            stop = min(start + timedelta(days=chunk_days), end)
            for s in SERIES:
                write_partitions(con, s, start, stop, scale_factor=sf, seed=seed, launch_date=launch)
                counts[s].update(daily_counts(con, s, start, stop))
                con.execute(f"DELETE FROM raw.{s}")
            start = stop
    return counts


def daily_counts(con: duckdb.DuckDBPyConnection, source: str, start: date, end: date) -> dict[date, float]:
    col = SOURCES[source].partition_column
    rows = con.execute(
        f"SELECT CAST({col} AS DATE), count(*) FROM raw.{source} WHERE {col} >= ? AND {col} < ? GROUP BY 1",
        [start, end],
    ).fetchall()
    return fill_days(rows, start, end - timedelta(days=1))


def elementary_like(series: dict[date, float], day: date, value: float, window: int = 14) -> bool | None:
    """Anchor: z-score of the day against the last `window` days INCLUDING the day (Elementary default)."""
    pts = [series[day - timedelta(days=i)] for i in range(1, window) if day - timedelta(days=i) in series]
    if len(pts) < window - 1:
        return None
    pts.append(value)
    sd = statistics.stdev(pts)
    return sd > 0 and abs(value - statistics.fmean(pts)) / sd > 3


def evaluate_series(series: dict[date, float], floor: float, first: date) -> dict[str, Tally]:
    out = {"seasonal": Tally(), "trailing_mean": Tally(), "elementary": Tally()}
    for day in sorted(d for d in series if d >= first):
        n = series[day]
        base = detect(series, day, floor=floor, direction="both")
        if base.status == "insufficient_history":
            continue
        trail = detect_trailing_mean(series, day, window_days=7, threshold=floor)
        elem = elementary_like(series, day, n)
        out["seasonal"].days += 1
        out["seasonal"].add("false alert", base.flagged)
        if trail.status != "insufficient_history" and elem is not None:
            out["trailing_mean"].days += 1
            out["elementary"].days += 1
            out["trailing_mean"].add("false alert", trail.flagged)
            out["elementary"].add("false alert", elem)
        for name, (_, model) in SCENARIOS.items():
            v = float(model(int(n)))
            out["seasonal"].add(name, detect(series, day, floor=floor, direction="both", value=v).flagged)
            if trail.status != "insufficient_history" and elem is not None:
                out["trailing_mean"].add(
                    name, detect_trailing_mean(series, day, window_days=7, threshold=floor, value=v).flagged
                )
                out["elementary"].add(name, bool(elementary_like(series, day, v)))
    return out


def verify_sql(seed: int, sf: float, launch: date, first: date, k: int) -> tuple[int, int]:
    """Apply the real faults (metrics_assets.generator.faults) on k days and check the recount
    equals the modelled value."""
    checked = ok = 0
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(str(Path(tmp) / "verify.duckdb")) as con:
        ensure_raw_tables(con)
        for source in ("orders", "app_events"):
            write_partitions(
                con, source, first, first + timedelta(days=k), scale_factor=sf, seed=seed, launch_date=launch
            )
        clean = {s: daily_counts(con, s, first, first + timedelta(days=k)) for s in ("orders", "app_events")}
        for source in ("orders", "app_events"):
            for name, (fault, model) in SCENARIOS.items():
                if fault == "bot_spike" and source != "app_events":
                    continue
                params = dict(FAULT_PARAMS.get(name, {}))
                if fault != "bot_spike":
                    params["table"] = source
                for i in range(k):
                    day = first + timedelta(days=i)
                    inject(con, fault, day, **params)
                    got = daily_counts(con, source, day, day + timedelta(days=1))[day]
                    revert(con)
                    checked += 1
                    ok += int(got == model(int(clean[source][day])))
    return ok, checked


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def merge(into: Tally, t: Tally) -> None:
    into.days += t.days
    for k, n in t.hits.items():
        into.hits[k] = into.hits.get(k, 0) + n


@dataclass
class Run:
    sf: float
    results: dict[str, dict[str, Tally]]
    volumes: dict[str, float]
    verify: tuple[int, int]


def run_scale(args: argparse.Namespace, sf: float, t0: float) -> Run:
    end = args.launch + timedelta(days=args.days)
    first = args.launch + timedelta(days=args.warmup_days)
    results: dict[str, dict[str, Tally]] = {}
    volumes: dict[str, list[float]] = {s: [] for s in [*SERIES, WEEKEND]}
    for seed in args.seed_list:
        print(f"SF {sf}, seed {seed}: generating {args.days} days ...", flush=True)
        series = generate_counts(seed, sf, args.launch, end)
        series[WEEKEND] = {
            d: float(round(v * WEEKEND_FACTORS[d.weekday()])) for d, v in series["orders"].items()
        }
        for s, ser in series.items():
            res = evaluate_series(ser, floor_for(s), first)
            acc = results.setdefault(s, {k: Tally() for k in res})
            for k, t in res.items():
                merge(acc[k], t)
            volumes[s].append(statistics.fmean(v for d, v in ser.items() if d >= first))
        print(f"SF {sf}, seed {seed} scored ({time.time() - t0:.0f} s)", flush=True)
    verify = (
        verify_sql(args.seed_list[0], sf, args.launch, first, args.verify_sql) if args.verify_sql else (0, 0)
    )
    return Run(sf, results, {s: statistics.fmean(v) for s, v in volumes.items()}, verify)


def pooled(run: Run, rule: str, series: tuple[str, ...]) -> Tally:
    agg = Tally()
    for s in series:
        merge(agg, run.results[s][rule])
    return agg


def rates(t: Tally) -> str:
    return f"{t.days} | {pct(t.rate('false alert'))} ({t.hits.get('false alert', 0)}) | " + " | ".join(
        pct(t.rate(k)) for k in SCENARIOS
    )


RULES = {
    "seasonal": "robust seasonal (this project)",
    "trailing_mean": "runbook literal: deviation vs trailing 7-day mean > floor",
    "elementary": "Elementary-style z > 3 over 14 days incl. the scored day",
}
HEAD = "| check-days | false alerts | " + " | ".join(SCENARIOS) + " |"
RULE = "|---|---|" + "---|" * len(SCENARIOS)


def render_run(run: Run, volume_series: tuple[str, ...], with_targets: bool) -> tuple[list[str], bool]:
    lines = [f"| series | floor | mean rows/day {HEAD}", f"|---|---|---{RULE}"]
    for s in SERIES:
        t = run.results[s]["seasonal"]
        lines.append(f"| {s} | {floor_for(s):.0%} | {run.volumes[s]:,.0f} | {rates(t)} |")
    vol = pooled(run, "seasonal", volume_series)
    lines.append(f"| **volume checks** ({', '.join(volume_series)}) | | | {rates(vol)} |")
    met = True
    if with_targets:
        lines += ["", "| target (volume checks pooled) | required | measured | met |", "|---|---|---|---|"]
        for k, req in TARGETS.items():
            got = vol.rate(k)
            met &= got >= req
            lines.append(f"| {k} detected | >= {pct(req)} | {pct(got)} | {'yes' if got >= req else 'NO'} |")
        fp = vol.rate("false alert")
        met &= fp <= FP_TARGET
        verdict = "yes" if fp <= FP_TARGET else "NO"
        lines.append(f"| false alerts on clean check-days | <= {pct(FP_TARGET)} | {pct(fp)} | {verdict} |")
    lines += [
        "",
        "Anchor rules on the same check-days (volume checks pooled):",
        "",
        f"| rule {HEAD}",
        f"|---{RULE}",
    ]
    for rule, label in RULES.items():
        lines.append(f"| {label} | {rates(pooled(run, rule, volume_series))} |")
    lines += [
        "",
        f"Stress series `{WEEKEND}` (generated orders x {list(WEEKEND_FACTORS)} by weekday, "
        f"floor {floor_for(WEEKEND):.0%}, ~{run.volumes[WEEKEND]:,.0f} rows/day):",
        "",
        f"| rule {HEAD}",
        f"|---{RULE}",
    ]
    for rule, label in RULES.items():
        lines.append(f"| {label} | {rates(pooled(run, rule, (WEEKEND,)))} |")
    return lines, met


def render(args: argparse.Namespace, runs: list[Run], seconds: float) -> str:
    p = anomaly_params()
    volume_series = ("orders", "app_events")
    sfs = ",".join(str(r.sf) for r in runs)
    lines = [
        "# Anomaly detector: detection and false-alert rates on generated volumes",
        "",
        "Generated by `scripts/evaluate_detection.py` (about "
        f"{seconds / 60:.0f} min on 2 cores); reproduce with:",
        "",
        "```",
        f"python scripts/evaluate_detection.py --scale-factors {sfs} --seeds {args.seeds} --days {args.days} "
        f"--warmup-days {args.warmup_days} --verify-sql {args.verify_sql}",
        "```",
        "",
        f"- Detector `{p.model_version}` (checks/anomaly.py, config/checks.yaml `anomaly:`): "
        f"median of the last {p.baseline_weeks} clean same weekdays, {p.level_days}-day level correction, "
        f"MAD scale over {p.scale_days} days, flagged only when |z| >= {p.z_threshold:g} **and** the "
        "deviation is beyond the check's business floor (config/checks.yaml: `profit.orders_volume`, "
        "`engagement.events_volume`, "
        "`growth.new_users_deviation`), both directions.",
        f"- Data: the project generator, seeds {', '.join(map(str, args.seed_list))}, {args.days} days from "
        f"{args.launch}. Check-days start {args.warmup_days} days after launch: the synthetic world starts "
        "with zero users and grows ~20x in its first months, a ramp no production table has.",
        "- Each fault is injected alone on one check-day with clean history; the check-day's value is the "
        "partition's row count after the real fault (`--verify-sql`: the faults of "
        "metrics_assets/generator/faults.py were "
        "applied to generated raw tables and the partitions recounted; matches are listed per scale).",
        "- Targets are asserted on the volume checks (orders and app_events); `users` (new signups, the "
        "growth deviation check) is reported alongside.",
        "",
    ]
    all_met = True
    for i, run in enumerate(runs):
        title = "targets" if i == 0 else "for comparison"
        lines += [
            f"## Scale factor {run.sf} ({title})",
            "",
            f"SQL verification: {run.verify[0]} of {run.verify[1]} injected partitions matched the modelled "
            "count.",
            "",
        ]
        body, met = render_run(run, volume_series, with_targets=i == 0)
        all_met &= met if i == 0 else True
        lines += body + [""]
    lines += [
        "## Reading the numbers",
        "",
        "- A single-day decision cannot beat the series' own noise: with daily noise sigma, a 30% drop is "
        "ln(0.7)/sigma standard deviations. Small tables (orders at SF 0.05, a few hundred rows/day, or a "
        "few dozen signups a day) have sigma ~ 10%+, so no rule reaches 95% there at a low false-alert rate; "
        "the completeness checks (row counts against the source) are the deterministic guard for those.",
        "- The generator's own weekly shape is mild (weekday factors within about +-10%), so the runbook's "
        "literal trailing-mean rule raises few false alerts on the plain series (its misses and alerts come "
        "from noise); on the weekend-dip stress series it alerts on a large share of weekends, while the "
        "same-weekday baseline does not. The Elementary-style score includes the scored day in its own "
        "sample and misses most drops.",
        "",
        "All targets met." if all_met else "**Not every target is met; see the rows marked NO.**",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--scale-factors",
        default="0.5,0.05",
        help="comma-separated; the first is checked against the targets",
    )
    ap.add_argument("--seeds", type=int, default=2, help="number of generated worlds per scale factor")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--warmup-days", type=int, default=90, help="launch ramp excluded from check-days")
    ap.add_argument(
        "--verify-sql", type=int, default=5, help="days of real SQL injections per fault and table"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "detection.md")
    args = ap.parse_args(argv)
    w = world()
    args.launch = w.launch_date
    args.seed_list = [w.seed + i for i in range(args.seeds)]
    t0 = time.time()
    runs = [run_scale(args, float(sf), t0) for sf in args.scale_factors.split(",")]
    md = render(args, runs, time.time() - t0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
