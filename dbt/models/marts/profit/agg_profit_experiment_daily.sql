{#- Per experiment, variant and order day: the unit sums over orders whose user was assigned to
    that variant before the order's created_at. -#}
{{ config(materialized='window_replace') }}

select
    a.experiment_id,
    a.variant,
    f.order_date,
    cast(sum(f.revenue_usd) as decimal(38, 10)) as revenue_usd,
    cast(sum(f.refunds_usd) as decimal(38, 10)) as refunds_usd,
    cast(sum(f.cost_usd) as decimal(38, 10)) as cost_usd,
    cast(sum(f.profit_usd) as decimal(38, 10)) as profit_usd,
    count(*) as orders,
    max(f.fx_rate_set_version) as fx_rate_set_version,
    {{ metrics_version_columns() }},
    max(f.cost_table_version) as cost_table_version
from {{ ref('fct_order_profit') }} as f
inner join {{ ref('stg_experiment_assignments') }} as a
    on a.user_id = f.user_id
   and a.assigned_at < f.created_at
where {{ in_window('f.order_date') }}
group by a.experiment_id, a.variant, f.order_date
