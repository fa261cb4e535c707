{#
    Fails on every non-null value outside [min_value, max_value] (inclusive).
#}
{% test value_between(model, column_name, min_value, max_value) %}

with

checked as (

    select {{ column_name }} as checked_value
    from {{ model }}
    where
        {{ column_name }} < {{ min_value }}
        or {{ column_name }} > {{ max_value }}

)

select * from checked

{% endtest %}
