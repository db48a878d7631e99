{#- Investor daily profit: sums of fct_order_profit per order day. Every day of the window from the
    first order day on has a row, so a day without orders shows as 0 instead of disappearing. -#}
{{ config(materialized='window_replace') }}

{%- set w = metrics_window(config) %}

with spine as (
    {{ date_spine(w['start'], w['end'], 'order_date') }}
),

daily as (
    select
        order_date,
        sum(revenue_usd) as revenue_usd,
        sum(refunds_usd) as refunds_usd,
        sum(cost_usd) as cost_usd,
        sum(profit_usd) as profit_usd,
        count(*) as orders,
        max(fx_rate_set_version) as fx_rate_set_version,
        max(cost_table_version) as cost_table_version
    from {{ ref('fct_order_profit') }}
    where {{ in_window('order_date') }}
    group by order_date
)

select
    s.order_date,
    cast(coalesce(d.revenue_usd, 0) as decimal(38, 10)) as revenue_usd,
    cast(coalesce(d.refunds_usd, 0) as decimal(38, 10)) as refunds_usd,
    cast(coalesce(d.cost_usd, 0) as decimal(38, 10)) as cost_usd,
    cast(coalesce(d.profit_usd, 0) as decimal(38, 10)) as profit_usd,
    coalesce(d.orders, 0) as orders,
    d.fx_rate_set_version,
    {{ metrics_version_columns() }},
    cast({{ metrics_str(metrics_var('cost_table_version', 'parse')) }} as {{ dbt.type_string() }}) as cost_table_version
from spine as s
left join daily as d on d.order_date = s.order_date
where s.order_date >= (select min(order_date) from {{ ref('fct_order_profit') }})
