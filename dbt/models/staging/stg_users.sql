select
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(signed_up_at as {{ dbt.type_timestamp() }}) as signed_up_at,
    cast(signed_up_at as date) as signup_date,
    cast(channel as {{ dbt.type_string() }}) as channel,
    cast(country as {{ dbt.type_string() }}) as country,
    cast(device_id as {{ dbt.type_string() }}) as device_id,
    cast(email_hash as {{ dbt.type_string() }}) as email_hash,
    cast(signup_ip as {{ dbt.type_string() }}) as signup_ip,
    cast(user_agent as {{ dbt.type_string() }}) as user_agent
from {{ source('raw', 'users') }}
