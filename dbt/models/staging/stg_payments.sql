select
    cast(payment_id as {{ dbt.type_bigint() }}) as payment_id,
    cast(order_id as {{ dbt.type_bigint() }}) as order_id,
    cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at,
    cast(amount as decimal(18, 2)) as amount,
    cast(currency as {{ dbt.type_string() }}) as currency,
    cast(processor_fee as decimal(18, 2)) as processor_fee,
    cast(status as {{ dbt.type_string() }}) as status
from {{ source('raw', 'payments') }}
