"""The ten raw sources: their columns, types, keys and partition column.

This is the written contract of the raw layer. The synthetic generator produces exactly these
columns, the pandera source contracts (checks/contracts.py) are built from it, and the dbt
sources (dbt/models/staging/_sources.yml) describe the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type name; Snowflake maps it in the dbt staging layer
    nullable: bool = False
    description: str = ""


@dataclass(frozen=True)
class Source:
    name: str
    grain: str
    partition_column: str  # the UTC day of this column is the daily partition the row lands in
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name: str, type_: str, nullable: bool = False, description: str = "") -> Column:
    return Column(name, type_, nullable, description)


MONEY = "DECIMAL(18,2)"

SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "orders",
            "one row per order",
            "created_at",
            (
                _c("order_id", "BIGINT"),
                _c("user_id", "BIGINT"),
                _c("created_at", "TIMESTAMP", description="UTC"),
                _c("currency", "VARCHAR"),
                _c("gross_amount", MONEY),
                _c("discount", MONEY),
                _c("region", "VARCHAR"),
                _c("status", "VARCHAR", description="completed | pending | cancelled"),
                _c("is_test", "BOOLEAN"),
            ),
            ("order_id",),
        ),
        Source(
            "payments",
            "one row per payment attempt",
            "paid_at",
            (
                _c("payment_id", "BIGINT"),
                _c("order_id", "BIGINT"),
                _c("paid_at", "TIMESTAMP"),
                _c("amount", MONEY),
                _c("currency", "VARCHAR"),
                _c("processor_fee", MONEY),
                _c("status", "VARCHAR", description="captured | failed"),
            ),
            ("payment_id",),
        ),
        Source(
            "refunds",
            "one row per refund (may land up to 10 days after its order)",
            "refunded_at",
            (
                _c("refund_id", "BIGINT"),
                _c("order_id", "BIGINT"),
                _c("refunded_at", "TIMESTAMP"),
                _c("amount", MONEY),
                _c("currency", "VARCHAR"),
            ),
            ("refund_id",),
        ),
        Source(
            "order_costs",
            "one row per cost line",
            "recorded_at",
            (
                _c("cost_line_id", "BIGINT"),
                _c("order_id", "BIGINT"),
                _c("recorded_at", "TIMESTAMP"),
                _c("cost_type", "VARCHAR", description="cogs | fulfillment | shipping | platform_fee"),
                _c("amount", MONEY),
                _c("currency", "VARCHAR"),
                _c("region", "VARCHAR"),
            ),
            ("cost_line_id",),
        ),
        Source(
            "fx_rates",
            "one row per currency per day",
            "rate_date",
            (
                _c("rate_date", "DATE"),
                _c("currency", "VARCHAR"),
                _c("usd_per_unit", "DECIMAL(18,8)", description="units of USD per unit of currency"),
                _c("rate_set_version", "VARCHAR"),
            ),
            ("rate_date", "currency"),
        ),
        Source(
            "users",
            "one row per signup record",
            "signed_up_at",
            (
                _c("user_id", "BIGINT"),
                _c("signed_up_at", "TIMESTAMP"),
                _c("channel", "VARCHAR"),
                _c("country", "VARCHAR"),
                _c("device_id", "VARCHAR"),
                _c("email_hash", "VARCHAR"),
                _c("signup_ip", "VARCHAR"),
                _c("user_agent", "VARCHAR"),
            ),
            ("user_id",),
        ),
        Source(
            "account_closures",
            "one row per closure (churn log)",
            "closed_at",
            (
                _c("closure_id", "BIGINT"),
                _c("user_id", "BIGINT"),
                _c("closed_at", "TIMESTAMP"),
                _c("reason", "VARCHAR"),
            ),
            ("closure_id",),
        ),
        Source(
            "marketing_spend",
            "one row per channel per day",
            "spend_date",
            (
                _c("spend_date", "DATE"),
                _c("channel", "VARCHAR"),
                _c("spend_usd", MONEY),
                _c("impressions", "BIGINT"),
                _c("clicks", "BIGINT"),
                _c("loaded_at", "TIMESTAMP"),
            ),
            ("spend_date", "channel"),
        ),
        Source(
            "app_events",
            "one row per received event (duplicates and bots occur)",
            "event_time",
            (
                _c("event_id", "VARCHAR"),
                _c("user_id", "BIGINT", nullable=True, description="null = anonymous"),
                _c("device_id", "VARCHAR"),
                _c("session_hint", "VARCHAR", nullable=True),
                _c("event_type", "VARCHAR"),
                _c("event_time", "TIMESTAMP"),
                _c("received_at", "TIMESTAMP"),
                _c("ip", "VARCHAR"),
                _c("user_agent", "VARCHAR"),
                _c("schema_version", "INTEGER"),
            ),
            (),
        ),
        Source(
            "experiment_assignments",
            "one row per user per experiment",
            "assigned_at",
            (
                _c("user_id", "BIGINT"),
                _c("experiment_id", "VARCHAR"),
                _c("variant", "VARCHAR"),
                _c("assigned_at", "TIMESTAMP"),
            ),
            ("user_id", "experiment_id"),
        ),
    )
}
