{#- One row per counted order (completed, not a test) with revenue, refunds, cost and profit in USD.
    Every amount converts from its own currency at the FX rate of the ORDER's day (USD at 1); an
    amount without a rate leaves the order's total null (and counts in missing_fx_amounts) so it can
    never be summed as zero. Amounts keep full decimal precision, so aggregates equal the sum of
    units exactly. Child rows are read from one day before the window on: cost lines, payments and
    refunds are not recorded before their order. -#}
{{ config(materialized='window_replace') }}

with orders as (
    select order_id, user_id, created_at, order_date, region, currency, gross_amount, discount
    from {{ ref('stg_orders') }}
    where {{ ts_in_window('created_at') }}
      and status = 'completed'
      and not is_test
),

fx as (
    select rate_date, currency, usd_per_unit
    from {{ ref('stg_fx_rates') }}
    where {{ in_window('rate_date') }}
),

fx_version as (
    select rate_date, max(rate_set_version) as fx_rate_set_version
    from {{ ref('stg_fx_rates') }}
    where {{ in_window('rate_date') }}
    group by rate_date
),

{#- every amount of the order: (order_id, kind, amount, currency) -#}
amounts as (
    select c.order_id, 'cost' as kind, c.cost_type as detail, c.amount, c.currency, c.recorded_at as happened_at
    from {{ ref('stg_order_costs') }} as c
    where {{ ts_in_window('c.recorded_at', days_before=1, days_after=none) }}
      and c.cost_type in {{ metrics_str_list(metrics_var('cost_types', ['parse'])) }}
    union all
    select p.order_id, 'cost' as kind, 'processor_fee' as detail, p.processor_fee as amount, p.currency,
        p.paid_at as happened_at
    from {{ ref('stg_payments') }} as p
    where {{ ts_in_window('p.paid_at', days_before=1, days_after=none) }}
      and p.status = 'captured'
    union all
    select r.order_id, 'refund' as kind, 'refund' as detail, r.amount, r.currency, r.refunded_at as happened_at
    from {{ ref('stg_refunds') }} as r
    where {{ ts_in_window('r.refunded_at', days_before=1, days_after=none) }}
),

amounts_usd as (
    select
        a.order_id,
        a.kind,
        a.detail,
        a.happened_at,
        a.amount * case when a.currency = 'USD' then 1 else fx.usd_per_unit end as amount_usd
    from amounts as a
    inner join orders as o on o.order_id = a.order_id
    left join fx on fx.rate_date = o.order_date and fx.currency = a.currency
),

per_order as (
    select
        order_id,
        sum(case when kind = 'refund' then amount_usd else 0 end) as refunds_usd,
        sum(case when kind = 'cost' then amount_usd else 0 end) as cost_usd,
        sum(case when kind = 'refund' then 1 else 0 end) as refund_count,
        sum(case when kind = 'cost' then 1 else 0 end) as cost_amounts,
        sum(case when detail = 'cogs' then 1 else 0 end) as cogs_lines,
        sum(case when detail = 'fulfillment' then 1 else 0 end) as fulfillment_lines,
        max(case when kind = 'refund' then happened_at end) as last_refunded_at,
        sum(case when amount_usd is null then 1 else 0 end) as missing_fx_amounts
    from amounts_usd
    group by order_id
),

units as (
    select
        o.order_id,
        o.user_id,
        o.created_at,
        o.order_date,
        o.region,
        o.currency,
        fv.fx_rate_set_version,
        (o.gross_amount - o.discount) * case when o.currency = 'USD' then 1 else fx.usd_per_unit end as revenue_usd,
        coalesce(p.refunds_usd, 0) as refunds_usd,
        coalesce(p.cost_usd, 0) as cost_usd,
        coalesce(p.refund_count, 0) as refund_count,
        coalesce(p.cost_amounts, 0) as cost_amounts,
        coalesce(p.cogs_lines, 0) as cogs_lines,
        coalesce(p.fulfillment_lines, 0) as fulfillment_lines,
        p.last_refunded_at,
        coalesce(p.missing_fx_amounts, 0)
            + case when o.currency <> 'USD' and fx.usd_per_unit is null then 1 else 0 end as missing_fx_amounts
    from orders as o
    left join fx on fx.rate_date = o.order_date and fx.currency = o.currency
    left join fx_version as fv on fv.rate_date = o.order_date
    left join per_order as p on p.order_id = o.order_id
)

select
    order_id,
    user_id,
    created_at,
    order_date,
    region,
    currency,
    fx_rate_set_version,
    {%- for col in ['revenue_usd', 'refunds_usd', 'cost_usd'] %}
    cast(case when missing_fx_amounts = 0 then {{ col }} end as decimal(38, 10)) as {{ col }},
    {%- endfor %}
    cast(case when missing_fx_amounts = 0 then revenue_usd - refunds_usd - cost_usd end as decimal(38, 10)) as profit_usd,
    cast(refund_count as integer) as refund_count,
    cast(cost_amounts as integer) as cost_amounts,
    cast(cogs_lines as integer) as cogs_lines,
    cast(fulfillment_lines as integer) as fulfillment_lines,
    last_refunded_at,
    cast(missing_fx_amounts as integer) as missing_fx_amounts,
    {{ metrics_version_columns() }},
    cast({{ metrics_str(metrics_var('cost_table_version', 'parse')) }} as {{ dbt.type_string() }}) as cost_table_version
from units
