"""The pages' shell: navigation, style and tables. Cells that carry a figure a reader may check
name it (`data-field`), so a test can find the number on the page and compare it with the table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

PAGES = (  # file, title
    ("index.html", "Ops Overview"),
    ("freshness.html", "Freshness & Lag"),
    ("budget.html", "Error Budget Burn"),
    ("contracts.html", "Schema Contracts"),
    ("owners/index.html", "Owners"),
)
CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#212121;
  background:#fafafa}
nav{background:#263238;padding:10px 24px}nav a{color:#eceff1;margin-right:20px;text-decoration:none}
nav a.here{font-weight:600;border-bottom:2px solid #80cbc4}
main{padding:16px 24px;max-width:1400px}h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:22px 0 8px}
.meta{color:#607d8b;font-size:12px}table{border-collapse:collapse;background:#fff;margin:6px 0 14px}
th,td{border:1px solid #e0e0e0;padding:4px 9px;text-align:left;vertical-align:top}th{background:#eceff1}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32}.bad{color:#c62828;font-weight:600}.warn{color:#ef6c00}.muted{color:#90a4ae}
.card{display:inline-block;background:#fff;border:1px solid #e0e0e0;border-radius:6px;padding:8px 14px;
  margin:0 10px 10px 0}
code{background:#eceff1;padding:0 3px}
"""
STATE_CLASS = {
    "on_time": "ok",
    "late": "warn",
    "missing": "bad",
    "backfill": "muted",
    "none": "muted",
    True: "ok",
    False: "bad",
    None: "muted",
}


class Cell:
    """A table cell: text, an optional CSS class, and the field name a test reads it by."""

    def __init__(self, text: Any, cls: str = "", field: str = "") -> None:
        self.text, self.cls, self.field = text, cls, field

    def html(self) -> str:
        attrs = (f' class="{self.cls}"' if self.cls else "") + (
            f' data-field="{escape(self.field)}"' if self.field else ""
        )
        return f"<td{attrs}>{escape(str(self.text))}</td>"


def num(v: float | int | None, fmt: str = "{:.1f}", field: str = "") -> Cell:
    return Cell("–" if v is None else fmt.format(v), "num", field)


def pct(v: float | None, field: str = "") -> Cell:
    return num(None if v is None else v * 100, "{:.1f}%", field)


def when(t: datetime | date | None) -> str:
    if t is None:
        return "–"
    return f"{t:%Y-%m-%d %H:%M}" if isinstance(t, datetime) else t.isoformat()


def table(
    headers: Sequence[str], rows: Iterable[tuple[dict[str, str], Sequence[Cell | str]]], table_id: str = ""
) -> str:
    """rows: (the row's data-* attributes, its cells)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for attrs, cells in rows:
        a = "".join(f' data-{k}="{escape(str(v))}"' for k, v in attrs.items())
        tds = "".join(c.html() if isinstance(c, Cell) else Cell(c).html() for c in cells)
        body.append(f"<tr{a}>{tds}</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    if not body:
        return f'<p class="muted"{tid}>none</p>'
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(file: str, title: str, body: str, now: datetime, as_of: datetime | None) -> str:
    up = "../" * file.count("/")
    here = ' class="here"'
    nav = "".join(f'<a href="{up}{f}"{here if f == file else ""}>{escape(t)}</a>' for f, t in PAGES)
    stamp = f"built {when(now)} UTC" + (
        f" · SLO rows as of {when(as_of)} UTC"
        if as_of
        else " · no SLO rows yet (no daily investor table published)"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} · metrics</title>"
        f'<style>{CSS}</style><script src="{up}plotly.min.js"></script></head><body>'
        f'<nav>{nav}</nav><main><h1>{escape(title)}</h1><p class="meta">{stamp}</p>{body}</main>'
        "</body></html>"
    )
