"""The five kinds of page: what each shows, laid out from `OpsData`. Charts where a trend matters
(lag over time, budget burn-down, day states), tables where people read figures."""

from __future__ import annotations

from html import escape

from metrics_assets.dashboards import charts
from metrics_assets.dashboards.data import OBJECTIVE_FLAG, OpsData, burn_down, fresh_now
from metrics_assets.dashboards.html import STATE_CLASS, Cell, num, page, pct, table, when

RECENT_DAYS = 28  # days drawn in the charts
LISTED_DAYS = 14  # days listed per table on the freshness page
ATTAINMENT_HEADERS = ("table", "objective", "window", "target", "judged", "good", "attainment",
                      "allowed misses", "budget left", "burn rate", "")


def _short(table_name: str) -> str:
    return table_name.split(".", 1)[-1]


def _fresh_cell(d: OpsData, table_name: str) -> Cell:
    state, text = fresh_now(d.days_of(table_name), d.now)
    return Cell(f"{_short(table_name)}: {text}", STATE_CLASS[state], "fresh_now")


def _recent(d: OpsData, table_name: str) -> list[dict]:
    return d.days_of(table_name)[-RECENT_DAYS:]


def _incidents(d: OpsData, pipelines: list[str], table_id: str) -> str:
    rows = [
        (
            {"incident": i.id},
            [i.id, i.pipeline, i.kind.value, i.severity, i.status.value, when(i.opened_at), i.summary[:160]],
        )
        for i in d.incidents
        if i.pipeline in pipelines
    ]
    return table(("id", "pipeline", "kind", "severity", "status", "opened (UTC)", "summary"), rows, table_id)


def _oncall(d: OpsData) -> str:
    if d.oncall is None:
        return f'<p class="bad">nobody on call: {escape(d.oncall_problem or "no schedule")}</p>'
    o = d.oncall
    extra = f" ({escape(o.override)})" if o.override else ""
    return (
        f'<p data-field="oncall">Primary <b>{escape(d.name_of(o.primary))}</b>, Backup '
        f"<b>{escape(d.name_of(o.backup))}</b>, block {when(o.block_start)} – {when(o.block_end)} UTC"
        f"{extra}</p>"
    )


def _pipeline_rows(d: OpsData, pids: list[str]) -> list:
    rows = []
    for pid in pids:
        p = d.pipelines.get(pid)
        tables = d.tables_of(pid)
        fresh = [_fresh_cell(d, t) for t in tables]
        att = [a for t in tables for a in d.attainment_of(t)]
        met = sum(1 for a in att if a["met"])
        failing = d.failing_checks(pid)
        rows.append(
            (
                {"pipeline": pid},
                [
                    pid,
                    p.audience.value,
                    f"{d.name_of(p.owners.primary)} / {d.name_of(p.owners.secondary)}",
                    Cell(
                        "; ".join(c.text for c in fresh) if fresh else "no daily investor table",
                        fresh[0].cls if len(fresh) == 1 else "",
                        "fresh_now",
                    ),
                    Cell(
                        f"{met} of {len(att)}" if att else "–",
                        "ok" if att and met == len(att) else ("bad" if att else "muted"),
                        "slos_met",
                    ),
                    Cell(len(failing), "bad" if failing else "ok", "failing_checks"),
                    Cell(len(d.incidents_of(pid)), "bad" if d.incidents_of(pid) else "ok", "open_incidents"),
                ],
            )
        )
    return rows


def overview(d: OpsData) -> str:
    pids = list(d.pipelines.ids)
    failing = [c for c in d.latest_checks if not c["passed"]]
    cards = (
        f'<div class="card">open incidents <b data-field="open_incidents_total">{len(d.incidents)}</b></div>'
        f'<div class="card">failing checks <b data-field="failing_checks_total">{len(failing)}</b></div>'
        f'<div class="card">on call now: {_oncall(d)}</div>'
    )
    by_table = {t: _recent(d, t) for t in sorted({r["investor_table"] for r in d.slo_daily})}
    check_rows = [
        (
            {"check": c["check_name"], "asset": c["asset"]},
            [
                c["pipeline"],
                c["asset"],
                c["check_name"],
                c["severity"],
                when(c["partition_day"]),
                when(c["evaluated_at"]),
                str(c["message"])[:200],
            ],
        )
        for c in failing
    ]
    body = (
        cards
        + "<h2>Pipelines</h2>"
        + table(
            (
                "pipeline",
                "audience",
                "owners (primary / secondary)",
                "fresh now",
                "SLOs met",
                "failing checks",
                "open incidents",
            ),
            _pipeline_rows(d, pids),
            "pipelines",
        )
        + (charts.day_states(by_table) if by_table else "")
        + "<h2>Open incidents</h2>"
        + _incidents(d, pids, "incidents")
        + "<h2>Failing checks (newest evaluation of each)</h2>"
        + table(
            ("pipeline", "asset", "check", "severity", "day", "evaluated (UTC)", "message"),
            check_rows,
            "failing-checks",
        )
    )
    return page("index.html", "Ops Overview", body, d.now, d.as_of)


def _rows(r: dict) -> str:
    pub, src = r.get("published_rows"), r.get("source_rows")
    if pub is None and src is None:
        return "–"
    return f"{'–' if pub is None else pub} / {'–' if src is None else src}"


def _day_rows(d: OpsData, tables: list[str]) -> list:
    rows = []
    for t in tables:
        for r in reversed(d.days_of(t)[-LISTED_DAYS:]):
            rows.append(
                (
                    {"table": t, "day": r["day"].isoformat()},
                    [
                        _short(t),
                        r["day"].isoformat(),
                        when(r["deadline"]),
                        when(r["first_published_at"]),
                        r["first_trigger"] or "–",
                        num(r["lag_minutes"], "{:.0f}", "lag_minutes"),
                        Cell(
                            {True: "yes", False: "no", None: "not counted" if r["first_trigger"] else "–"}[
                                r["on_time"]
                            ],
                            STATE_CLASS[r["on_time"]],
                            "on_time",
                        ),
                        Cell(
                            {True: "yes", False: "no", None: "not due"}[r["published"]],
                            STATE_CLASS[r["published"]],
                            "published",
                        ),
                        Cell(_rows(r), "num", "rows"),
                        num(r["max_drift_pp"], "{:.3f}", "max_drift_pp"),
                    ],
                )
            )
    return rows


def _grace(d: OpsData, tables: list[str]) -> dict[str, float]:
    specs = d.pipelines.investor_tables
    return {t: specs[_short(t)].slo.freshness.grace_minutes for t in tables if _short(t) in specs}


def freshness(d: OpsData) -> str:
    tables = sorted({r["investor_table"] for r in d.slo_daily})
    now_rows = [({"table": t}, [_short(t), _fresh_cell(d, t)]) for t in tables]
    body = (
        "<h2>Fresh now</h2>"
        + table(("table", "newest due day"), now_rows, "fresh-now")
        + (charts.lag_over_time({t: _recent(d, t) for t in tables}, _grace(d, tables)) if tables else "")
        + f"<h2>The last {LISTED_DAYS} days</h2><p class='meta'>Freshness counts scheduled runs only; "
        "a day first published by a backfill or a manual run is shown, never counted.</p>"
        + table(
            (
                "table",
                "day",
                "deadline (UTC)",
                "first published (UTC)",
                "by",
                "lag (min)",
                "on time",
                "published",
                "rows (published / source)",
                "drift (pp)",
            ),
            _day_rows(d, tables),
            "days",
        )
    )
    return page("freshness.html", "Freshness & Lag", body, d.now, d.as_of)


def _attainment_rows(d: OpsData, tables: list[str]) -> list:
    rows = []
    for t in tables:
        for a in d.attainment_of(t):
            rows.append(
                (
                    {"table": t, "objective": a["objective"]},
                    [
                        _short(t),
                        a["objective"],
                        f"{a['window_days']} d",
                        pct(a["target"], "target"),
                        num(a["judged"], "{:.0f}", "judged"),
                        num(a["good"], "{:.0f}", "good"),
                        pct(a["attainment"], "attainment"),
                        num(a["budget_days"], "{:.2f}", "budget_days"),
                        pct(a["budget_remaining"], "budget_remaining"),
                        num(a["burn_rate"], "{:.2f}", "burn_rate"),
                        Cell(
                            {True: "met", False: "MISSED", None: "–"}[a["met"]], STATE_CLASS[a["met"]], "met"
                        ),
                    ],
                )
            )
    return rows


def _burn_series(d: OpsData, tables: list[str]) -> dict:
    series = {}
    for t in tables:
        for a in d.attainment_of(t):
            points = burn_down(d.days_of(t), a, OBJECTIVE_FLAG[a["objective"]])
            if points:
                series[f"{_short(t)} {a['objective']}"] = points
    return series


def budget(d: OpsData) -> str:
    tables = sorted({r["investor_table"] for r in d.slo_attainment})
    series = _burn_series(d, tables)
    body = (
        "<p class='meta'>Attainment = good days / judged days of the window; the error budget is "
        "the misses the target allows (1 - target) x judged; burn rate 1.0 spends it exactly over the "
        "window.</p>"
        + table(
            ATTAINMENT_HEADERS,
            _attainment_rows(d, tables),
            "attainment",
        )
        + (charts.burn_down(series) if series else "")
    )
    return page("budget.html", "Error Budget Burn", body, d.now, d.as_of)


def contracts(d: OpsData) -> str:
    parts = []
    for v in d.contracts:
        s = v.source
        cols = [
            (
                {"column": c.name},
                [
                    c.name,
                    c.type,
                    "yes" if c.nullable else "no",
                    "key"
                    if c.name in s.primary_key
                    else ("partition" if c.name == s.partition_column else ""),
                ],
            )
            for c in s.columns
        ]
        last = v.last
        last_html = (
            '<p class="muted" data-field="last_evaluation">never evaluated</p>'
            if last is None
            else f'<p data-field="last_evaluation" class="{"ok" if last["passed"] else "bad"}">'
            f"{'passed' if last['passed'] else 'FAILED'} for {when(last['partition_day'])}, "
            f"evaluated {when(last['evaluated_at'])} UTC: {escape(str(last['message'])[:300])}</p>"
        )
        changes = [
            (
                {"kind": c.kind},
                [
                    when(c.first_seen),
                    when(c.last_seen),
                    c.kind,
                    c.column or "–",
                    c.diff,
                    num(c.days, "{:.0f}", "days"),
                ],
            )
            for c in v.changes
        ]
        parts.append(
            f'<section data-source="{escape(s.name)}"><h2>{escape(s.table)}</h2>'
            f"<p class='meta'>grain: {escape(s.grain)}; partitioned by {escape(s.partition_column)}</p>"
            + last_html
            + "<details><summary>contract</summary>"
            + table(("column", "type", "nullable", ""), cols)
            + "</details>"
            + "<h3>Schema changes detected</h3>"
            + table(
                ("first seen (UTC)", "last seen (UTC)", "kind", "column", "diff", "days"),
                changes,
                f"changes-{s.name}",
            )
            + "</section>"
        )
    return page("contracts.html", "Schema Contracts", "".join(parts), d.now, d.as_of)


def owners_index(d: OpsData, owners: dict[str, str]) -> str:
    rows = [
        ({"owner": pid}, [Cell(d.name_of(email)), email, ", ".join(d.owned_by(email))])
        for pid, email in owners.items()
    ]
    links = "".join(f'<li><a href="{pid}.html">{escape(d.name_of(e))}</a></li>' for pid, e in owners.items())
    return page(
        "owners/index.html",
        "Owners",
        f"<ul>{links}</ul>" + table(("owner", "e-mail or team", "pipelines"), rows),
        d.now,
        d.as_of,
    )


def owner(d: OpsData, person_id: str, email: str) -> str:
    pids = d.owned_by(email)
    mine_tables = [t for pid in pids for t in d.tables_of(pid)]
    role = {pid: ("primary" if d.pipelines.get(pid).owners.primary == email else "secondary") for pid in pids}
    on = ""
    if d.oncall is not None and email in (d.oncall.primary, d.oncall.backup):
        role_now = "Primary" if email == d.oncall.primary else "Backup"
        on = f'<p class="warn"><b>You are {role_now} on call this week.</b></p>'
    body = (
        f"<p>{escape(email)} owns {len(pids)} pipeline(s): "
        + ", ".join(f"{escape(p)} ({role[p]})" for p in pids)
        + "</p>"
        + "<h2>My pipelines</h2>"
        + table(
            (
                "pipeline",
                "audience",
                "owners (primary / secondary)",
                "fresh now",
                "SLOs met",
                "failing checks",
                "open incidents",
            ),
            _pipeline_rows(d, pids),
            "pipelines",
        )
        + "<h2>SLO attainment and budget left</h2>"
        + table(
            ATTAINMENT_HEADERS,
            _attainment_rows(d, mine_tables),
            "attainment",
        )
        + (
            charts.lag_over_time({t: _recent(d, t) for t in mine_tables}, _grace(d, mine_tables), "my-lag")
            if mine_tables
            else ""
        )
        + "<h2>Open incidents</h2>"
        + _incidents(d, pids, "incidents")
        + "<h2>On call this week</h2>"
        + on
        + _oncall(d)
    )
    return page(f"owners/{person_id}.html", f"{d.name_of(email)}: my pipelines", body, d.now, d.as_of)
