select
    cast(closure_id as {{ dbt.type_bigint() }}) as closure_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(closed_at as {{ dbt.type_timestamp() }}) as closed_at,
    cast(closed_at as date) as closure_date,
    cast(reason as {{ dbt.type_string() }}) as reason
from {{ source('raw', 'account_closures') }}
