{#- Profit per calendar quarter: the sums of agg_profit_daily's rows. Recomputes every quarter
    the run's window touches; days_reported < days_in_period marks a quarter not yet closed (or
    not fully built). -#}
{{ config(materialized='incremental', incremental_strategy='window_replace') }}

select
    {{ period_start('quarter', 'order_date') }} as quarter_start,
    cast(sum(revenue_usd) as decimal(38, 10)) as revenue_usd,
    cast(sum(refunds_usd) as decimal(38, 10)) as refunds_usd,
    cast(sum(cost_usd) as decimal(38, 10)) as cost_usd,
    cast(sum(profit_usd) as decimal(38, 10)) as profit_usd,
    cast(sum(orders) as {{ dbt.type_bigint() }}) as orders,
    count(*) as days_reported,
    {{ dbt.datediff(period_start('quarter', 'order_date'), dbt.dateadd('quarter', 1, period_start('quarter', 'order_date')), 'day') }} as days_in_period,
    max(fx_rate_set_version) as fx_rate_set_version,
    {{ metrics_version_columns() }},
    max(cost_table_version) as cost_table_version
from {{ ref('agg_profit_daily') }}
where {{ in_window('order_date') }}
group by {{ period_start('quarter', 'order_date') }}
