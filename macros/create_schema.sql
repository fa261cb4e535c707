{#
    Each schema (staging, silver, gold, …) is a folder of its own under the lakehouse server's data
    directory, <data>/<schema>/<table>, next to <data>/bronze which the ingester creates the same way.
    The server substitutes ${spark.lakehouse.dataDir}, so the path is the server's, wherever dbt runs.
#}
{% macro spark_lakehouse__create_schema(relation) -%}
    {%- call statement('create_schema') -%}
        create schema if not exists {{ relation.without_identifier() }}
        location '${spark.lakehouse.dataDir}/{{ relation.schema }}'
    {%- endcall -%}
{%- endmacro %}
