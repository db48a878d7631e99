"""The `metrics oncall` commands end to end on a copy of the config, and the ops.oncall_schedule asset."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from metrics_assets.cli import main
from metrics_assets.oncall.assets import build_oncall_assets
from metrics_assets.oncall.lookup import OnCallLookup
from metrics_core.team import load_team_config

IST = ZoneInfo("Asia/Kolkata")


def test_who_report_table_ics(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "who", "--at", "2026-03-04T12:00", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert (
        row["override_reason"] == "Holi: backup acts as primary" and row["at"] == "2026-03-04T12:00:00+05:30"
    )
    assert main(["oncall", "report"]) == 0
    out = capsys.readouterr().out
    assert "spread (max-min)" in out and "hard rules: all hold" in out and "continuity" in out
    assert main(["oncall", "table", "--year", "2026"]) == 0
    assert "2026-W10" in capsys.readouterr().out
    assert main(["oncall", "ics", "--out", str(tmp_path / "ics")]) == 0
    assert (tmp_path / "ics" / "oncall-team.ics").exists() and (tmp_path / "ics" / "oncall-SK.ics").exists()


def test_replan_then_generate_refuses_to_clobber(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["oncall", "generate", "--year", "2026"]) == 0  # identical to the published file
    capsys.readouterr()
    args = ["oncall", "replan", "--pto", "PR:2026-07-21:2026-07-23:wedding", "--as-of", "2026-06-01T10:00"]
    assert main([*args, "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert main([*args, "--reason", "wedding"]) == 0
    out = capsys.readouterr().out
    moved = re.search(r"2026-W30 primary PR -> (\w+)", out)
    assert moved and moved.group(1) != "PR" and "change(s) logged" in out
    assert "solver: every stage proven optimal" in out
    assert main(["oncall", "who", "--at", "2026-07-22T12:00+05:30", "--json"]) == 0
    cover = {"AM": "alex.mehta", "CW": "chen.wu", "SK": "samir.kapoor"}[moved.group(1)]
    assert json.loads(capsys.readouterr().out)["primary"].startswith(cover)
    assert main(["oncall", "generate", "--year", "2026"]) == 2
    assert "oncall replan" in capsys.readouterr().err
    # a replan that cannot be staffed names the constraint and the week, exit 2
    bad = [f"--pto={p}:2026-09-01:2026-09-03" for p in ("AM", "PR", "CW")]
    assert main(["oncall", "replan", *bad, "--as-of", "2026-06-01T10:00"]) == 2
    err = capsys.readouterr().err
    assert "coverage" in err and "2026-W36" in err
    assert main(["oncall", "who", "--at", "2030-01-01T00:00"]) == 2
    assert "outside" in capsys.readouterr().err


def test_registered_in_the_metrics_cli(cfg: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from metrics_assets.cli import main as metrics_main

    assert metrics_main(["oncall", "who", "--at", "2026-03-02T09:00"]) == 0
    assert "samir.kapoor" in capsys.readouterr().out.split("backup")[0]


def test_oncall_schedule_asset_writes_ops_table(cfg: Path, tmp_path: Path) -> None:
    team = load_team_config(cfg / "team.yaml")
    oncall = build_oncall_assets(team, clock=lambda: datetime(2026, 12, 3, tzinfo=IST))  # 56 weeks left
    result = dg.materialize([oncall.asset], selection=[oncall.asset.key])
    assert result.success
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    segs = con.execute("select segment_start, segment_end from ops.oncall_schedule order by 1").fetchall()
    lookup = OnCallLookup.from_config()
    assert segs[0][0] == lookup.start and segs[-1][1] == lookup.end
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:], strict=False))  # tiles the horizon, no gap
    n_over = sum(len(v) for v in lookup.overrides.values())
    assert len(lookup.slots) + n_over <= len(segs) <= len(lookup.slots) + 2 * n_over
    for at in (datetime(2026, 3, 2, 8, 59, tzinfo=IST), datetime(2026, 3, 4, 12, tzinfo=IST),
               datetime(2026, 1, 26, 8, tzinfo=IST), datetime(2026, 11, 8, 23, tzinfo=IST)):  # fmt: skip
        got = con.execute(
            "select primary_email, backup_email, override_reason from ops.oncall_schedule "
            "where segment_start <= ? and ? < segment_end", [at, at]
        ).fetchall()  # fmt: skip
        oc = lookup.who(at)
        assert got == [(oc.primary, oc.backup, oc.override_reason)]
    con.close()
