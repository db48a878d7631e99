{#- Small generic tests (no package dependency): each returns the offending rows. -#}

{#- The combination of columns is unique (a table's grain). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies the SQL expression. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}

{#- The column only takes values of a list var (e.g. cost_types from config/metrics.yaml). -#}
{% test accepted_var_values(model, column_name, var_name) %}
select {{ column_name }} as value, count(*) as n_rows
from {{ model }}
where {{ column_name }} is null
   or {{ column_name }} not in {{ metrics_str_list(metrics_var(var_name, ['parse'])) }}
group by {{ column_name }}
{% endtest %}
