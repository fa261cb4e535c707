{#
    dbt's relationships test, with the parent side narrowed to the child's values and made distinct. The
    built-in joins every child row to every matching parent row: a Gold table's user_id against Silver's 1M
    plays (a few listeners) made billions of join rows and took minutes. Narrowing lets a test of a few rows
    (a scheduled refresh's, see get_where_subquery) filter the parent while scanning it instead of
    aggregating all of it. The failing rows are the same.
#}
{% macro spark_lakehouse__test_relationships(model, column_name, to, field) %}

    with

    child as (

        select {{ column_name }} as from_field
        from {{ model }}
        where {{ column_name }} is not null

    ),

    parent as (

        select distinct {{ field }} as to_field
        from {{ to }}
        where {{ field }} in (select child.from_field from child)

    )

    select child.from_field
    from child
    left join parent
        on child.from_field = parent.to_field
    where parent.to_field is null

{% endmacro %}
