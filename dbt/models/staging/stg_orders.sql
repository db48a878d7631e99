{#- Orders, typed. Filtering (status, is_test) happens in the facts, so this view mirrors raw. -#}
select
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
    cast(created_at as date) as order_date,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(gross_amount as decimal(18, 2)) as gross_amount,
    cast(discount as decimal(18, 2)) as discount,
    cast(region as {{ dbt.type_string() }}) as region,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(is_test as boolean) as is_test
from {{ source('raw', 'orders') }}
