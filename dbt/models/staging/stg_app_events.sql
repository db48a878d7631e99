{#- Every received copy of every event (deduplication is a rule, applied in int_app_events_window). -#}
select
    cast(event_id as {{ dbt.type_string() }}) as event_id,
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(device_id as {{ dbt.type_string() }}) as device_id,
    cast(session_hint as {{ dbt.type_string() }}) as session_hint,
    cast(event_type as {{ dbt.type_string() }}) as event_type,
    cast(event_time as {{ dbt.type_timestamp() }}) as event_time,
    cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
    cast(ip as {{ dbt.type_string() }}) as ip,
    cast(user_agent as {{ dbt.type_string() }}) as user_agent,
    cast(schema_version as integer) as schema_version
from {{ source('raw', 'app_events') }}
