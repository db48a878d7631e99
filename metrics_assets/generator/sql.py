"""Turn a day's numpy row set into rows of raw.<source>: one registered frame, one INSERT ... SELECT.

Numbers travel as integers (cents, 1e-8 rate units, microseconds) and are typed in SQL, so the
stored DECIMAL and TIMESTAMP values are exact and identical on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from metrics_assets.generator.world import ALL_UAS, CLOSURE_REASONS, Frame, World
from metrics_core.sources import SOURCES

MONEY = "(({c})::DECIMAL(18,0) * 0.01::DECIMAL(3,2))::DECIMAL(18,2)"
TS = "make_timestamp({c})"
IP = "concat_ws('.', {c} >> 24, ({c} >> 16) & 255, ({c} >> 8) & 255, {c} & 255)"
HEX = "lpad(lower(hex({c})), 16, '0')"


def _m(c: str) -> str:
    return MONEY.format(c=c)


def _t(c: str) -> str:
    return TS.format(c=c)


def _ip(c: str) -> str:
    return IP.format(c=c)


def _hex(c: str) -> str:
    return HEX.format(c=c)


# per source: (row set of a partition day, {column: categories}, SELECT list in contract order)
Spec = tuple[Callable[[World, date], Frame], Callable[[World], dict[str, list[str]]], list[str]]


def _cur(w: World) -> list[str]:
    return w.cfg.currencies


SPECS: dict[str, Spec] = {
    "orders": (
        lambda w, d: w.orders(w.pop.k(d)),
        lambda w: {
            "currency": _cur(w),
            "region": w.pop.region_names,
            "status": list(w.cfg.order_status_weights),
        },
        [
            "order_id",
            "user_id",
            _t("t_us"),
            "currency::VARCHAR",
            _m("gross"),
            _m("discount"),
            "region::VARCHAR",
            "status::VARCHAR",
            "is_test",
        ],
    ),
    "payments": (
        lambda w, d: w.spill(d, w.payments, 1),
        lambda w: {"currency": _cur(w)},
        [
            "payment_id",
            "order_id",
            _t("t_us"),
            _m("amount"),
            "currency::VARCHAR",
            _m("fee"),
            "CASE WHEN captured THEN 'captured' ELSE 'failed' END",
        ],
    ),
    "refunds": (
        lambda w, d: w.spill(d, w.refunds, w.cfg.refund_max_lag_days),
        lambda w: {"currency": _cur(w)},
        ["refund_id", "order_id", _t("t_us"), _m("amount"), "currency::VARCHAR"],
    ),
    "order_costs": (
        lambda w, d: w.spill(d, w.order_costs, 1),
        lambda w: {"type": list(w.rules.cost_types), "currency": _cur(w), "region": w.pop.region_names},
        [
            "cost_line_id",
            "order_id",
            _t("t_us"),
            "type::VARCHAR",
            _m("amount"),
            "currency::VARCHAR",
            "region::VARCHAR",
        ],
    ),
    "fx_rates": (
        lambda w, d: w.fx(w.pop.k(d)),
        lambda w: {"currency": _cur(w)},
        [
            "$day::DATE",
            "currency::VARCHAR",
            "(units::DECIMAL(18,0) * 0.00000001::DECIMAL(9,8))::DECIMAL(18,8)",
            "$fxv",
        ],
    ),
    "users": (
        lambda w, d: w.users(w.pop.k(d)),
        lambda w: {"channel": w.pop.channel_names, "country": w.pop.country_names, "ua": list(ALL_UAS)},
        [
            "user_id",
            _t("t_us"),
            "channel::VARCHAR",
            "country::VARCHAR",
            "'d' || " + _hex("device"),
            "md5($seed || ':person:' || person)",
            _ip("ip"),
            "ua::VARCHAR",
        ],
    ),
    "account_closures": (
        lambda w, d: w.closures(w.pop.k(d)),
        lambda w: {"reason": list(CLOSURE_REASONS)},
        ["closure_id", "user_id", _t("t_us"), "reason::VARCHAR"],
    ),
    "marketing_spend": (
        lambda w, d: w.marketing_spend(w.pop.k(d)),
        lambda w: {"channel": w.pop.channel_names},
        ["$day::DATE", "channel::VARCHAR", _m("cents"), "impressions", "clicks", _t("loaded_us")],
    ),
    "app_events": (
        lambda w, d: w.events(d),
        lambda w: {"etype": list(w.cfg.event_type_weights), "ua": list(ALL_UAS)},
        [
            "'e' || " + _hex("eid"),
            "NULLIF(user_id, 0)",
            "'d' || " + _hex("device"),
            "CASE WHEN hint_null THEN NULL ELSE 's' || " + _hex("hint") + " END",
            "etype::VARCHAR",
            _t("t_us"),
            _t("recv_us"),
            _ip("ip"),
            "ua::VARCHAR",
            "3::INTEGER",
        ],
    ),
    "experiment_assignments": (
        lambda w, d: w.spill(d, w.assignments, 1),
        lambda w: {"exp": [e.id for e in w.exps.experiments], "variant": w.variant_names},
        ["user_id", "exp::VARCHAR", "variant::VARCHAR", _t("t_us")],
    ),
}


def frame(world: World, source: str, d: date) -> pd.DataFrame:
    """The partition day's rows as a DataFrame (integer-coded, categories resolved)."""
    build, cats, _ = SPECS[source]
    f = build(world, d)
    out: dict[str, object] = {}
    categories = cats(world)
    for c, v in f.items():
        if c in categories:
            out[c] = pd.Categorical.from_codes(np.asarray(v, dtype=np.int64), categories=categories[c])
        else:
            out[c] = v
    return pd.DataFrame(out)


def insert_day(con: duckdb.DuckDBPyConnection, world: World, source: str, d: date) -> int:
    """Insert the partition day d of `source`; returns rows inserted."""
    df = frame(world, source, d)
    if df.empty:
        return 0
    _, _, select = SPECS[source]
    params = {
        "day": d.isoformat(),
        "seed": str(world.seed),
        "fxv": f"{world.cfg.fx_rate_set_prefix}-{d.isoformat()}",
    }
    used = {k: v for k, v in params.items() if any(f"${k}" in s for s in select)}
    name = f"_gen_{source}"
    con.register(name, df)
    try:
        cols = ", ".join(c.name for c in SOURCES[source].columns)
        con.execute(
            f"INSERT INTO {SOURCES[source].table} ({cols}) SELECT {', '.join(select)} FROM {name}", used
        )
    finally:
        con.unregister(name)
    return len(df)
