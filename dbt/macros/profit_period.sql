{#- Profit per calendar `period` (month | quarter): the sums of agg_profit_daily's rows.
    One body for the monthly and quarterly marts so the two can never drift apart;
    days_reported < days_in_period marks a period not yet closed (or not fully built). -#}
{% macro profit_period(period) -%}
{%- set start = period_start(period, 'order_date') -%}
select
    {{ start }} as {{ period }}_start,
    cast(sum(revenue_usd) as decimal(38, 10)) as revenue_usd,
    cast(sum(refunds_usd) as decimal(38, 10)) as refunds_usd,
    cast(sum(cost_usd) as decimal(38, 10)) as cost_usd,
    cast(sum(profit_usd) as decimal(38, 10)) as profit_usd,
    cast(sum(orders) as {{ dbt.type_bigint() }}) as orders,
    count(*) as days_reported,
    {{ dbt.datediff(start, dbt.dateadd(period, 1, start), 'day') }} as days_in_period,
    max(fx_rate_set_version) as fx_rate_set_version,
    {{ metrics_version_columns() }},
    max(cost_table_version) as cost_table_version
from {{ ref('agg_profit_daily') }}
where {{ in_window('order_date') }}
group by {{ start }}
{%- endmacro %}
