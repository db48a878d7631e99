"""Which DuckDB-only SQL constructs the dbt models would send to Snowflake (none should).

Reads the models' SQL as dbt would compile it for Snowflake, without a connection: the model's own
SQL (Jinja statements, expressions and comments removed, so `{% for _ in range(12) %}` is Jinja, not
SQL) plus the SQL of every project macro it calls, transitively, in the variant Snowflake runs:
a dispatched macro `x` contributes `snowflake__x` or else `default__x`, never `duckdb__x`. Macros
no model calls (test helpers) are reported on their own; a project materialization a model names
(window_replace) counts as called by that model.

Flagged are constructs Snowflake rejects or means differently; a construct both accept (`::`
casts, QUALIFY, SELECT * EXCLUDE / REPLACE, ILIKE ANY, date_trunc, datediff/dateadd, count_if,
greatest/least) is not. tests/test_dbt_snowflake_dialect.py runs the models on fakesnow; this is
the static side of the same question, per model.

Usage:
    python scripts/dialect_report.py                 # the project's models; exit 1 if any is found
    python scripts/dialect_report.py --models DIR --macros DIR
"""

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS, MACROS = ROOT / "dbt" / "models", ROOT / "dbt" / "macros"


@dataclass(frozen=True)
class Construct:
    name: str
    pattern: re.Pattern[str]
    snowflake: str  # what Snowflake has instead


def _c(name: str, regex: str, snowflake: str) -> Construct:
    return Construct(name, re.compile(regex, re.IGNORECASE | re.DOTALL), snowflake)


CONSTRUCTS = (
    _c("list_* functions", r"\blist_\w+\s*\(", "ARRAY_* functions"),
    _c("list literal [..] / list()", r"\blist\s*\(", "ARRAY_AGG / ARRAY_CONSTRUCT"),
    _c("struct_pack / struct_extract", r"\bstruct_(pack|extract|insert)\s*\(", "OBJECT_CONSTRUCT / GET"),
    _c("strftime / strptime", r"\bstr[fp]time\s*\(", "TO_CHAR / TO_TIMESTAMP"),
    _c("date_diff / date_sub / date_add", r"\bdate_(diff|sub|add)\s*\(", "DATEDIFF / DATEADD"),
    _c("epoch / epoch_ms", r"\bepoch(_ms|_us|_ns)?\s*\(", "DATE_PART(epoch_second, ..) / TO_TIMESTAMP(n, 3)"),
    _c("regexp_matches / regexp_full_match / regexp_extract",
       r"\bregexp_(matches|full_match|extract(_all)?)\s*\(", "REGEXP_LIKE / REGEXP_INSTR / REGEXP_SUBSTR"),
    _c("range() / generate_series()", r"\b(range|generate_series)\s*\(", "TABLE(GENERATOR(ROWCOUNT => n))"),
    _c("unnest()", r"\bunnest\s*\(", "LATERAL FLATTEN"),
    _c("array_agg(.. ORDER BY ..) inside the call", r"\barray_agg\s*\([^()]*\border\s+by\b",
       "ARRAY_AGG(..) WITHIN GROUP (ORDER BY ..)"),
    _c("string_agg", r"\bstring_agg\s*\(", "LISTAGG"),
    _c("array_length", r"\barray_length\s*\(", "ARRAY_SIZE"),
    _c("arg_max / arg_min", r"\barg_(max|min)\s*\(", "MAX_BY / MIN_BY"),
    _c("bool_and / bool_or", r"\bbool_(and|or)\s*\(", "BOOLAND_AGG / BOOLOR_AGG"),
    _c("quantile / quantile_cont", r"\bquantile(_cont|_disc)?\s*\(", "PERCENTILE_CONT(..) WITHIN GROUP"),
    _c("printf / format", r"\b(printf|format)\s*\(", "|| and TO_CHAR"),
    _c("unquoted interval (interval 1 day)", r"\binterval\s+\d", "INTERVAL '1 day' or DATEADD"),
    _c("COLUMNS(..) star expression", r"\bcolumns\s*\(", "explicit column lists"),
    _c("USING SAMPLE", r"\busing\s+sample\b", "SAMPLE / TABLESAMPLE"),
    _c("read_csv / read_parquet / read_json", r"\bread_(csv|parquet|json)\w*\s*\(", "stages + COPY INTO"),
    _c("integer division //", r"(?<![:/])//(?!/)", "FLOOR(a / b) ('//' is a comment in Snowflake)"),
)

_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_STRING = re.compile(r"'(?:[^']|'')*'")
_MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?%\}(.*?)\{%-?\s*endmacro\s*-?%\}", re.DOTALL)
_CALL = re.compile(r"\b(\w+)\s*\(")
_MATERIALIZATION = re.compile(
    r"\{%-?\s*materialization\s+(\w+)\s*,.*?%\}(.*?)\{%-?\s*endmaterialization\s*-?%\}", re.DOTALL
)
_MATERIALIZED = re.compile(r"materialized\s*=\s*['\"](\w+)['\"]")


def _blank(match: re.Match[str]) -> str:
    """The match replaced by spaces, newlines kept, so line numbers stay right."""
    return re.sub(r"[^\n]", " ", match.group(0))


def sql_only(text: str) -> str:
    """The text with Jinja comments/tags, SQL comments and string literals blanked out."""
    text = _JINJA_COMMENT.sub(_blank, text)
    text = _JINJA_TAG.sub(_blank, text)
    text = _STRING.sub(lambda m: "'" + " " * (len(m.group(0)) - 2) + "'", text)
    return _SQL_COMMENT.sub(_blank, text)


def jinja_calls(text: str) -> set[str]:
    """Names called inside Jinja tags: the macros a model or macro uses."""
    text = _JINJA_COMMENT.sub("", text)
    return {name for tag in _JINJA_TAG.findall(text) for name in _CALL.findall(tag)}


def load_macros(macros_dir: Path) -> dict[str, str]:
    """Macro name -> body; a project materialization `x` as `materialization_x` (dbt's own name)."""
    out: dict[str, str] = {}
    for path in sorted(macros_dir.rglob("*.sql")):
        text = path.read_text()
        for m in _MACRO.finditer(text):
            out[m.group(1)] = m.group(2)
        for m in _MATERIALIZATION.finditer(text):
            out[f"materialization_{m.group(1)}"] = m.group(2)
    return out


def materialization_of(text: str, macros: dict[str, str]) -> list[str]:
    """The project materialization a model's config names, if it is one (its statements are sent
    to Snowflake with the model's select)."""
    m = _MATERIALIZED.search(text)
    name = f"materialization_{m.group(1)}" if m else ""
    return [name] if name in macros else []


def snowflake_variant(name: str, macros: dict[str, str]) -> list[str]:
    """The macro bodies Snowflake runs for a call of `name`: the macro, and if it dispatches, its
    snowflake__ or else default__ implementation (a duckdb__ one never)."""
    if name.startswith("duckdb__") or name not in macros:
        return []
    names = [name]
    if "adapter.dispatch" in macros[name]:
        names += [n for n in (f"snowflake__{name}", f"default__{name}") if n in macros][:1]
    return names


def reachable(text: str, macros: dict[str, str]) -> list[str]:
    """Every project macro the text calls, transitively, in Snowflake's variant (call order)."""
    seen: list[str] = []
    todo = sorted(jinja_calls(text))
    while todo:
        for name in snowflake_variant(todo.pop(0), macros):
            if name not in seen:
                seen.append(name)
                todo += sorted(jinja_calls(macros[name]))
    return seen


def findings(text: str) -> list[tuple[str, int, str]]:
    """(construct, line, excerpt) of every DuckDB-only construct in the SQL of `text`."""
    sql = sql_only(text)
    lines = text.splitlines()
    out = []
    for c in CONSTRUCTS:
        for m in c.pattern.finditer(sql):
            line = sql.count("\n", 0, m.start()) + 1
            out.append((c.name, line, lines[line - 1].strip()[:80] if line <= len(lines) else ""))
    return sorted(out, key=lambda f: (f[1], f[0]))


def report(models_dir: Path = MODELS, macros_dir: Path = MACROS) -> dict[str, list[str]]:
    """{model or `macro:<name>`: findings as text}; an empty list is a clean model."""
    macros = load_macros(macros_dir)
    used: set[str] = set()
    out: dict[str, list[str]] = {}
    for path in sorted(models_dir.rglob("*.sql")):
        text = path.read_text()
        found = [f"{path.name}:{line}: {name}: {ex}" for name, line, ex in findings(text)]
        mats = materialization_of(text, macros)
        for macro in mats + reachable(text + "".join(macros[m] for m in mats), macros):
            used.add(macro)
            found += [f"macro {macro}: {name}: {ex}" for name, _, ex in findings(macros[macro])]
        out[path.stem] = found
    for name, body in sorted(macros.items()):  # the rest Snowflake may run (strategies, tests)
        if name not in used and not name.startswith("duckdb__"):
            out[f"macro:{name}"] = [f"{name}: {c}: {ex}" for c, _, ex in findings(body)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=MODELS)
    ap.add_argument("--macros", type=Path, default=MACROS)
    args = ap.parse_args(argv)
    result = report(args.models, args.macros)
    models = [k for k in result if not k.startswith("macro:")]
    print(f"DuckDB-only constructs Snowflake would receive ({len(CONSTRUCTS)} kinds checked)")
    for key, found in result.items():
        print(f"  {key:<34} {'none' if not found else str(len(found)) + ' found'}")
        for f in found:
            print(f"      {f}")
    contrast = {name: sorted({c for c, _, _ in findings(body)})
                for name, body in sorted(load_macros(args.macros).items()) if name.startswith("duckdb__")}
    if contrast:  # the scan is live: the DuckDB-only variants, which Snowflake never runs, are found
        print("  (for contrast, DuckDB-only variants: "
              + "; ".join(f"{n}: {', '.join(c) or 'none'}" for n, c in contrast.items()) + ")")
    bad = [k for k, v in result.items() if v]
    print(f"{len(models)} models, {len(result) - len(models)} macros not called by a model: "
          f"{len(bad)} with a DuckDB-only construct")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
