{#- Daily profit per order region (the order's own region). -#}
{{ config(materialized='window_replace') }}

select
    order_date,
    region,
    cast(sum(revenue_usd) as decimal(38, 10)) as revenue_usd,
    cast(sum(refunds_usd) as decimal(38, 10)) as refunds_usd,
    cast(sum(cost_usd) as decimal(38, 10)) as cost_usd,
    cast(sum(profit_usd) as decimal(38, 10)) as profit_usd,
    count(*) as orders,
    max(fx_rate_set_version) as fx_rate_set_version,
    {{ metrics_version_columns() }},
    max(cost_table_version) as cost_table_version
from {{ ref('fct_order_profit') }}
where {{ in_window('order_date') }}
group by order_date, region
