{#
    A Bronze source, or an empty relation with the source's declared columns when the ingester has not
    created the table yet, so `dbt build` works on a lakehouse that holds only the catalog. The columns and
    types come from the source's YAML (generated from ingest/bronze/schemas.py).
#}
{% macro bronze_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
        {{ log("Bronze table " ~ relation ~ " does not exist yet: reading it as empty", info=true) }}
        (
            select
            {%- for column in node.columns.values() %}
                cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
            {%- endfor %}
            where false
        )
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
