select
    cast(user_id as {{ dbt.type_bigint() }}) as user_id,
    cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
    cast(variant as {{ dbt.type_string() }}) as variant,
    cast(assigned_at as {{ dbt.type_timestamp() }}) as assigned_at
from {{ source('raw', 'experiment_assignments') }}
