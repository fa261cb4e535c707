{#
    Fails on every combination of the given columns that occurs more than once (a compound key).
#}
{% test unique_combination_of_columns(model, combination) %}

with

counted as (

    select
        {{ combination | join(", ") }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination | join(", ") }}

),

duplicated as (

    select * from counted
    where occurrences > 1

)

select * from duplicated

{% endtest %}
