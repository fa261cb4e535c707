{#
    The import CTEs of a query, one `name as ( select * from {{ ref(model) }} ),` per pair of CTE name and model,
    each followed by a comma, so the query's first own CTE comes right after the call.
#}
{% macro import_ctes(imports) -%}
    {%- for name, model in imports.items() %}
{{ name }} as (

    select * from {{ ref(model) }}

),
{% endfor -%}
{%- endmacro %}
