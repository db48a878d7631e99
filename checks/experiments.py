"""Experiment runbook checks (runbooks/growth_daily.md, runbooks/profit_unit.md): fail-open
pipelines, so these never block, but an ERROR still pages the owner."""

from __future__ import annotations

from datetime import date, timedelta

from scipy.stats import chisquare

from checks.core import DayResult, EvalContext, implements, to_date
from checks.relations import relation
from checks.sql import ts, window
from metrics_assets.generator.settings import experiments as experiment_config


@implements("raw/experiment_assignments", "no_user_in_two_variants")
def no_user_in_two_variants(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """A user (or a person, via the email hash of their user ids) in two variants of one
    experiment contaminates both arms; counted on the day the second variant was assigned."""
    lo, hi = window(days)
    rows = ctx.by_day(
        """
        with a as (
            select a.experiment_id, a.variant, a.assigned_at, a.user_id,
                   coalesce(u.email_hash, cast(a.user_id as varchar)) as person
            from raw.experiment_assignments a left join raw.users u on u.user_id = a.user_id
        ),
        leaks as (
            select experiment_id, person, max(assigned_at) as last_assigned
            from a group by 1, 2 having count(distinct variant) > 1
        )
        select cast(last_assigned as date) as day, count(*) as leaked,
               min(experiment_id) as example_experiment
        from leaks where last_assigned >= ? and last_assigned < ? group by 1
        """,
        [lo, hi],
    )
    out = []
    for d in days:
        r = rows.get(d) or {}
        n = int(r.get("leaked") or 0)
        out.append(
            DayResult(
                d,
                n == 0,
                value=n,
                threshold=0,
                message=(
                    f"{n} user(s)/person(s) assigned to two variants of one experiment on {d} "
                    f"(e.g. {r.get('example_experiment')})"
                )
                if n
                else f"no variant leakage on {d}",
            )
        )
    return out


@implements("raw/experiment_assignments", "sample_ratio_mismatch")
def sample_ratio_mismatch(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """Chi-square of assignment counts against the configured split, for the day and for the
    trailing window (a small daily skew only shows in the window)."""
    cfg = ctx.settings.experiments.srm
    configured = {e.id: e.variants for e in experiment_config().experiments}
    lo = ts(min(days) - timedelta(days=cfg.window_days - 1))
    frame = ctx.df(
        "select cast(assigned_at as date) as day, experiment_id, variant, count(*) as n "
        "from raw.experiment_assignments where assigned_at >= ? and assigned_at < ? group by 1, 2, 3",
        [lo, window(days)[1]],
    )
    frame["day"] = frame["day"].map(to_date)
    out = []
    for d in days:
        problems, tested, worst = [], 0, 1.0
        for span, sub in (
            ("day", frame[frame["day"] == d]),
            (
                f"{cfg.window_days}-day window",
                frame[(frame["day"] > d - timedelta(days=cfg.window_days)) & (frame["day"] <= d)],
            ),
        ):
            for exp_id, g in sub.groupby("experiment_id"):
                counts = g.groupby("variant")["n"].sum().to_dict()
                split = configured.get(exp_id)
                if split is None:
                    problems.append(f"{span}: experiment {exp_id} is not in config/experiments.yaml")
                    continue
                unknown = sorted(set(counts) - set(split))
                if unknown:
                    problems.append(f"{span}: {exp_id} has unconfigured variant(s) {unknown}")
                    continue
                total = sum(counts.values())
                if total < cfg.min_assignments:
                    continue
                obs = [counts.get(v, 0) for v in split]
                exp = [total * w for w in split.values()]
                p = float(chisquare(obs, exp).pvalue)
                tested += 1
                worst = min(worst, p)
                if p < cfg.p_value:
                    shares = ", ".join(
                        f"{v} {c / total:.1%} (want {split[v]:.0%})" for v, c in zip(split, obs, strict=True)
                    )
                    problems.append(
                        f"{span}: {exp_id} SRM p={p:.2g} < {cfg.p_value:g} over {total}: {shares}"
                    )
        if not tested and not problems:
            out.append(
                DayResult(
                    d,
                    None,
                    threshold=cfg.p_value,
                    message=f"fewer than {cfg.min_assignments} assignments per experiment around {d}",
                )
            )
            continue
        out.append(
            DayResult(
                d,
                not problems,
                value=worst,
                threshold=cfg.p_value,
                message="; ".join(problems) or f"{tested} SRM test(s) pass on {d} (min p={worst:.2g})",
            )
        )
    return out


@implements("agg_growth_experiment_daily", "one_variant_per_user_and_experiment")
def one_variant_per_person(ctx: EvalContext, days: list[date]) -> list[DayResult]:
    """The experiment cut counts each new person once per experiment: its new users per
    experiment must equal the day's new persons that have an assignment in that experiment."""
    rows = ctx.by_day(
        f"""
        select metric_date as day, experiment_id, sum(new_users) as cut_users
        from {relation("agg_growth_experiment_daily")}
        where metric_date >= ? and metric_date < ? group by 1, 2
        """,
        [min(days), max(days) + timedelta(days=1)],
    )
    del rows
    raise NotImplementedError("pending the dbt experiment model's columns")
