"""Experiment runbook checks (runbooks/growth_daily.md, runbooks/profit_unit.md): fail-open
pipelines, so these never block, but an ERROR still pages the owner."""

from __future__ import annotations

from datetime import date, timedelta

from scipy.stats import chisquare

from checks.core import DayResult, EvalContext, implements, to_date
from checks.relations import relation
from checks.sql import dwindow, ts, window
from metrics_core.experiments import experiments as experiment_config


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
    """Each new person counts once per experiment in the cut: the cut's new users per (day,
    experiment) must equal the distinct new persons assigned in it, and no person may carry two
    variants (their user ids assigned differently)."""
    frame = ctx.df(
        f"""
        with np as (
            select person_id, first_signup_date as day from {relation("dim_persons")}
            where first_signup_date >= ? and first_signup_date < ?
        ),
        pv as (
            select np.day, np.person_id, a.experiment_id, count(distinct a.variant) as variants
            from np
            join {relation("dim_users")} u on u.person_id = np.person_id
            join {relation("stg_experiment_assignments")} a on a.user_id = u.user_id
            group by 1, 2, 3
        ),
        expected as (
            select day, experiment_id, count(*) as persons,
                   sum(case when variants > 1 then 1 else 0 end) as multi_variant
            from pv group by 1, 2
        ),
        cut as (
            select day, experiment_id, sum(new_users) as cut_users
            from {relation("agg_growth_experiment_daily")}
            where day >= ? and day < ? group by 1, 2
        )
        select coalesce(e.day, c.day) as day, coalesce(e.experiment_id, c.experiment_id) as experiment_id,
               coalesce(e.persons, 0) as persons, coalesce(e.multi_variant, 0) as multi_variant,
               coalesce(c.cut_users, 0) as cut_users
        from expected e full outer join cut c on c.day = e.day and c.experiment_id = e.experiment_id
        """,
        [*dwindow(days), *dwindow(days)],
    )
    frame["day"] = frame["day"].map(to_date)
    out = []
    for d in days:
        sub = frame[frame["day"] == d]
        problems = [
            f"{r.experiment_id}: {int(r.multi_variant)} person(s) in two variants, cut counts "
            f"{int(r.cut_users)} new users for {int(r.persons)} assigned persons"
            for r in sub.itertuples()
            if int(r.multi_variant) or int(r.cut_users) != int(r.persons)
        ]
        out.append(
            DayResult(
                d,
                not problems,
                value=int(sub["multi_variant"].sum()) if not sub.empty else 0,
                threshold=0,
                message="; ".join(problems)
                if problems
                else f"every new person of {d} maps to one variant per experiment ({len(sub)} experiments)",
            )
        )
    return out
