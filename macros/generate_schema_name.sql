{#
    Models go to the schema named in their folder's config (staging, silver, gold) as-is,
    not prefixed with the target schema: the lakehouse has one set of layers per server.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
