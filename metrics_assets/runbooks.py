"""Render the config-derived part of every runbook (runbooks/<pipeline id>.md and the README index).

Name, audience, SLA, owners, lookback, the failure-mode table and the escalation ladder already live
in config (pipelines.yaml, team.yaml, checks/failure_modes.yaml). Retyping them in markdown would let
the runbook drift from what the platform actually does, so they are rendered into a marked block;
everything outside the block (diagnosis, recovery, per-failure-mode sections) is hand-written and
left untouched. `render_all(check=True)` lists stale files without writing, for CI.

Run `python -m metrics_assets.runbooks` to regenerate, `--check` to only verify.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checks.registry import load_catalogue
from checks.settings import check_settings
from metrics_core.config import (
    ConfigError,
    Deadline,
    Pipeline,
    PipelineConfig,
    load_pipeline_config,
    read_yaml,
)
from metrics_core.owners import owner_label, team_id
from metrics_core.paths import PROJECT_ROOT, RUNBOOK_DIR, config_dir
from metrics_core.team import TeamConfig, load_team_config

BEGIN = "<!-- BEGIN GENERATED"
END = "<!-- END GENERATED -->"
_BEGIN_LINE = (
    BEGIN + " by metrics_assets/runbooks.py from config/pipelines.yaml, config/team.yaml, "
    "config/alerting.yaml, config/checks.yaml and checks/failure_modes.yaml. "
    "Do not edit inside this block: run `python -m metrics_assets.runbooks`. -->"
)
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
ANCHOR = re.compile(r'<a\s+id="([^"]+)"\s*>\s*</a>')


@dataclass(frozen=True)
class CheckRef:
    asset: str
    name: str
    severity: str


@dataclass(frozen=True)
class FailureMode:
    id: str
    pipeline: str  # the pipeline it belongs to; its runbook documents it
    title: str
    symptom: str
    validation: str
    checks: tuple[CheckRef, ...]


def load_failure_modes() -> dict[str, FailureMode]:
    """The failure-mode catalogue, validated by checks.registry (the one loader of it)."""

    cat = load_catalogue()
    return {
        fid: FailureMode(
            fid,
            fm.pipeline,
            fm.title,
            fm.symptom,
            fm.validation,
            tuple(CheckRef(c.asset, c.name, c.severity.value) for c in fm.checks),
        )
        for fid, fm in cat.failure_modes.items()
    }


def _team_rows(p: Pipeline, team: TeamConfig) -> list[str]:
    """A row naming the members of each owner team (a team owner is reached through its escalation
    contact, in its Slack channel)."""
    out = []
    for ref in dict.fromkeys((p.owners.primary, p.owners.secondary)):
        tid = team_id(ref)
        if tid is not None:
            t = team.team(tid)
            members = ", ".join(f"{m.name} ({m.email})" for m in team.team_members(tid))
            out.append(f"| {t.name} | `{ref}`: notified in {t.channel}, addressed to its escalation contact; "
                       f"members {members} |")
    return out


def _role(team: TeamConfig, key: str) -> str:
    role = team.roles.get(key)
    if role is None:
        raise ConfigError(f"config/team.yaml: roles.{key} is missing; the escalation ladder needs it")
    return f"{role.name} ({role.email})"


_DOW = {"0": "Sunday", "7": "Sunday", "SUN": "Sunday", "1": "Monday", "MON": "Monday", "2": "Tuesday",
        "TUE": "Tuesday", "3": "Wednesday", "WED": "Wednesday", "4": "Thursday", "THU": "Thursday",
        "5": "Friday", "FRI": "Friday", "6": "Saturday", "SAT": "Saturday"}


def describe_deadline(d: Deadline) -> str:
    """'08:00 UTC every day' from '0 8 * * *', '17:00 UTC every Friday' from '0 17 * * FRI'; other
    shapes fall back to the cron text."""
    minute, hour, dom, month, dow = d.deadline_cron.split()
    when = f"`{d.deadline_cron}`"
    if minute.isdigit() and hour.isdigit() and month == "*":
        clock = f"{int(hour):02d}:{int(minute):02d} {d.timezone}"
        if dom == "*" and dow == "*":
            when = f"{clock} every day"
        elif dom.isdigit() and dow == "*":
            when = f"{clock} on day {dom} of the month"
        elif dom == "*" and dow.upper() in _DOW:
            when = f"{clock} every {_DOW[dow.upper()]}"
    return f"by {when} (cron `{d.deadline_cron}`; data must be at most {d.lower_bound_hours:g} h old then)"


def describe_sla(p: Pipeline) -> list[str]:
    """One line per SLA shape the pipeline declares, and which one its assets' freshness policy follows."""
    sla = p.sla
    out = []
    if sla.daily:
        out.append(f"daily partition {describe_deadline(sla.daily)}")
    if sla.weekly:
        out.append(f"weekly {describe_deadline(sla.weekly)}")
    if sla.monthly:
        out.append(f"closed month {describe_deadline(sla.monthly)}")
    if sla.within_hours:
        n = f"{sla.within_hours:g} h"
        out.append(f"within {n} of the activity: the newest data is never older than {n} "
                   f"(a time-window freshness policy that fails at {n})")
    shape = sla.shape_for(None)
    if shape != "daily":
        daily = ("; the daily deadline counts the investor freshness SLO and the SLA-at-risk alert"
                 if sla.daily else "")
        out.append(f"the assets' Dagster freshness policy follows `{shape}`"
                   + (" (month and quarter tables: `monthly`)" if sla.monthly else "") + daily)
    return out


def _published_list(p: Pipeline) -> str:
    """The investor tables of the pipeline (config/pipelines.yaml `publication.tables`)."""
    if p.publication is None:
        return "nothing: experiment output stays in `marts`"
    schema = check_settings().publication.schema_
    return ", ".join(f"`{schema}.{n}` (from `marts.{t.model}`)" for n, t in p.publication.tables.items())


def _daily_run(cfg: PipelineConfig) -> str:
    minute, hour, *_ = cfg.daily_run_cron.split()
    if minute.isdigit() and hour.isdigit():
        return f"at {int(hour):02d}:{int(minute):02d} UTC (cron `{cfg.daily_run_cron}`)"
    return f"on cron `{cfg.daily_run_cron}` (UTC)"


def _fail_effect(p: Pipeline, severity: str) -> str:
    if severity == "ERROR" and p.is_investor:
        return "blocks publication; pages on-call"
    if severity == "ERROR":
        return "fail-open; notifies owner (business hours)"
    return "warns owner; never pages"


def _rel_link(fm: FailureMode, here: str) -> str:
    return f"#{fm.id}" if fm.pipeline == here else f"{fm.pipeline}.md#{fm.id}"


def _related(p: Pipeline, cfg: PipelineConfig, fms: dict[str, FailureMode]) -> list[FailureMode]:
    """Failure modes documented in a sibling runbook of the same domain, or of another experiment pipeline."""
    out = []
    for fm in fms.values():
        other = cfg.pipelines.get(fm.pipeline)
        if other is None or other.id == p.id:
            continue
        same_domain = other.domain == p.domain
        both_experiment = not p.is_investor and not other.is_investor
        if same_domain or both_experiment:
            out.append(fm)
    return out


def _alerting(path: Path | None = None) -> dict[str, Any]:
    """config/alerting.yaml (ladder timings, coverage); empty when the file is absent."""
    path = path or config_dir() / "alerting.yaml"
    data = read_yaml(path) if path.exists() else {}
    return data if isinstance(data, dict) else {}


def _level_target(level: str, p: Pipeline, team: TeamConfig) -> str:
    if level == "primary_oncall":
        return "Primary on-call of the moment"
    if level == "backup_oncall":
        return "Backup on-call"
    if level == "incident_commander":
        ic = owner_label(p.owners.secondary, team)
        return f"Incident commander: secondary owner {ic}, skipped if already paged"
    return _role(team, level)


def _escalation(p: Pipeline, team: TeamConfig, alerting: dict[str, Any]) -> list[str]:
    """The ladder of the pipeline's severity from config/alerting.yaml, people resolved from config."""
    sev = "sev1" if p.is_investor else "sev2"
    policy = alerting.get("severities", {}).get(sev, {})
    ladder, business = policy.get("ladder", []), policy.get("business", [])
    hours = team.business_hours
    if p.is_investor:
        head = (f"`{sev}`: pages 24x7. Each step fires at its own time, never earlier, and only while "
                "nobody has acknowledged (`metrics incidents ack <id> --by <e-mail>`). A step whose person "
                "already holds the incident re-pages them as a reminder; the next step still waits for "
                "its time:")
    else:
        window = f"{hours.start}-{hours.end} {team.timezone}"
        head = (
            f"`{sev}`: notifies on working days {window}, queued to the next window outside it; treated as "
            "`sev1` when the failing asset feeds an investor asset. "
            "WARN checks only notify the primary owner. Inside the window a failure notifies the "
            "Primary on-call in the pipeline's channel; it never pages."
        )
    out = [head, ""]
    if not ladder:
        out.append("1. Primary on-call of the moment (no ladder configured in config/alerting.yaml).")
    for i, step in enumerate(ladder, 1):
        out.append(f"{i}. t + {step['after_minutes']} min: {_level_target(step['level'], p, team)}.")
    if alerting.get("inform_primary_owner", True):
        out.append(f"\nThe primary owner {owner_label(p.owners.primary, team)} is informed of every page.")
    if business:
        out.append(
            "Business escalation, unresolved after: "
            + "; ".join(f"{b['after_minutes'] / 60:g} h -> {_role(team, b['role'])}" for b in business)
            + "."
        )
    out.append(
        "At each Monday handoff the incoming Primary is sent every incident still open (acknowledged "
        "or not), unless the ladder already reached them."
    )
    if p.is_investor:
        out.append(
            f"Status updates go to `{alerting.get('status_channel') or '(off)'}` when a sev1 incident or an "
            "SLA at risk opens and when it resolves."
        )
    out.append(
        "Who is on call now: `metrics oncall who` (or `--at <time>`); "
        "who was paged when: the incident log (`metrics incidents`)."
    )
    return out


def render_block(p: Pipeline, cfg: PipelineConfig, fms: dict[str, FailureMode], team: TeamConfig) -> str:
    mode = (
        "investor: fail-closed. An ERROR check blocks publication of the failing partition; "
        "failures page 24x7."
        if p.is_investor
        else "experiment: fail-open. Checks never block; failures notify the owner in business "
        "hours (or page, if the failing asset is upstream of an investor asset)."
    )
    sla = describe_sla(p)
    own = [fm for fm in fms.values() if fm.pipeline == p.id]
    raw = sorted(
        {c.asset.removeprefix("raw/") for fm in own for c in fm.checks if c.asset.startswith("raw/")}
    )
    lines = [
        _BEGIN_LINE,
        "",
        "## At a glance",
        "",
        "| | |",
        "| --- | --- |",
        f"| Pipeline | `{p.id}`: {p.name} |",
        f"| Purpose | {p.description} |",
        f"| Audience | {mode} |",
        f"| SLA | {'<br>'.join(sla)} |",
        f"| Primary owner | {owner_label(p.owners.primary, team)}: first responder, design and changes |",
        f"| Secondary owner | {owner_label(p.owners.secondary, team)}: reviewer, backup, "
        "incident commander |",
        *_team_rows(p, team),
        f"| Lookback | {p.lookback_days} days: late data inside it is restated by the normal daily run; "
        + (
            "older days change only by an approved backfill (run tag `approved_by`) |"
            if p.is_investor
            else "older days may be backfilled freely |"
        ),
        f"| Daily run | schedule `all_pipelines_daily` builds yesterday's partition {_daily_run(cfg)} |",
        f"| Metric definitions | `{cfg.metric_definitions_version}` (shared/spec/metrics.md) |",
        f"| Published (investor) | {_published_list(p)} |",
        f"| dbt models | {', '.join(f'`{m}`' for m in p.dbt_models)} |",
        f"| Raw sources read | {', '.join(f'`raw.{s}`' for s in p.raw_sources)} |",
        f"| Raw sources checked here | {', '.join(f'`raw.{s}`' for s in raw) or 'none (reads marts)'} |",
        "",
        "## Failure modes",
        "",
        "| Failure mode | Symptom | Asset | Check | Severity | On failure |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for fm in own:
        for i, c in enumerate(fm.checks):
            first = i == 0
            lines.append(
                f"| {f'[{fm.title}](#{fm.id})' if first else '〃'} | {fm.symptom if first else ''} "
                f"| `{c.asset}` | `{c.name}` | {c.severity} | {_fail_effect(p, c.severity)} |"
            )
    related = _related(p, cfg, fms)
    if related:
        lines += [
            "",
            "Also relevant, documented in a sibling runbook: "
            + "; ".join(f"[{fm.title}]({_rel_link(fm, p.id)})" for fm in related)
            + ".",
        ]
    lines += ["", "## Escalation", "", *_escalation(p, team, _alerting()), "", END]
    return "\n".join(lines)


def render_index(cfg: PipelineConfig, fms: dict[str, FailureMode]) -> str:
    lines = [
        _BEGIN_LINE,
        "",
        "| Runbook | Pipeline | Audience | Failure modes |",
        "| --- | --- | --- | --- |",
    ]
    for p in cfg.pipelines.values():
        own = [fm for fm in fms.values() if fm.pipeline == p.id]
        modes = ", ".join(f"[{fm.id}]({p.id}.md#{fm.id})" for fm in own)
        lines.append(f"| [{p.id}.md]({p.id}.md) | {p.name} | {p.audience.value} | {modes} |")
    lines += ["", END]
    return "\n".join(lines)


def _skeleton(p: Pipeline, fms: Iterable[FailureMode]) -> str:
    parts = [f"# Runbook: {p.name} (`{p.id}`)", "", BEGIN, END, "", "## Failure modes in detail", ""]
    for fm in fms:
        parts += [
            f'<a id="{fm.id}"></a>',
            "",
            f"### {fm.title}",
            "",
            "TODO: meaning, check, diagnose, recover, escalate.",
            "",
        ]
    return "\n".join(parts)


def _splice(text: str, block: str, path: Path) -> str:
    if len(_BLOCK.findall(text)) != 1:
        raise ConfigError(f"{path}: expected exactly one '{BEGIN} ... {END}' block")
    return _BLOCK.sub(lambda _: block, text, count=1)


def expected_files(runbook_dir: Path | None = None) -> dict[Path, str]:
    """Every generated file's path -> its full expected text (hand-written parts kept as they are)."""
    rdir = runbook_dir or RUNBOOK_DIR
    cfg, fms, team = load_pipeline_config(), load_failure_modes(), load_team_config()
    out: dict[Path, str] = {}
    for p in cfg.pipelines.values():
        path = rdir / f"{p.id}.md"
        text = (
            path.read_text()
            if path.exists()
            else _skeleton(p, [f for f in fms.values() if f.pipeline == p.id])
        )
        out[path] = _splice(text, render_block(p, cfg, fms, team), path)
    readme = rdir / "README.md"
    text = readme.read_text() if readme.exists() else f"# Runbooks\n\n{BEGIN}\n{END}\n"
    out[readme] = _splice(text, render_index(cfg, fms), readme)
    return out


def render_all(check: bool = False, runbook_dir: Path | None = None) -> list[Path]:
    """Write every runbook whose generated block is stale; with check=True write nothing.

    Returns the paths that were (or, with check=True, would be) changed.
    """
    stale = []
    for path, text in expected_files(runbook_dir).items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate the config-derived blocks of runbooks/*.md")
    ap.add_argument("--check", action="store_true", help="only report stale files; exit 1 if any")
    args = ap.parse_args(argv)
    changed = render_all(check=args.check)
    verb = "stale" if args.check else "rewritten"
    for path in changed:
        print(f"{verb}: {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}")
    if not changed:
        print("runbooks up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
