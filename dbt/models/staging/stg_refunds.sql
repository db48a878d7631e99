select
    cast(refund_id as {{ dbt.type_bigint() }}) as refund_id,
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(refunded_at as {{ dbt.type_timestamp() }}) as refunded_at,
    cast(amount as decimal(18, 2)) as amount,
    cast(currency as {{ dbt.type_string() }}) as currency
from {{ source('raw', 'refunds') }}
