select
    cast(cost_line_id as {{ dbt.type_bigint() }}) as cost_line_id,
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(recorded_at as {{ dbt.type_timestamp() }}) as recorded_at,
    cast(cost_type as {{ dbt.type_string() }}) as cost_type,
    cast(amount as decimal(18, 2)) as amount,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(region as {{ dbt.type_string() }}) as region
from {{ source('raw', 'order_costs') }}
