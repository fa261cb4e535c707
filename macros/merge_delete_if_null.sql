{#
    dbt-spark's MERGE of an incremental model (strategy 'merge'), plus deletions: when the model's config names
    a column in `merge_delete_if_null`, a row the model emits with that column null deletes the target row with
    its key and is never inserted. An incremental model rebuilding a range of its table emits such a row for
    each key the range held that the rebuild no longer produces (Silver: a play merged into another; Gold: a
    period or cell left without plays), so the table ends as a full refresh would leave it, in one commit.
    Without the config it is dbt-spark's MERGE (1.11.0), unchanged.
#}
{% macro spark_lakehouse__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) %}
    {%- set delete_if_null = config.get('merge_delete_if_null') -%}
    {%- if not delete_if_null -%}
        {{ return(spark__get_merge_sql(target, source, unique_key, dest_columns, incremental_predicates)) }}
    {%- endif -%}
    {%- set predicates = [] if incremental_predicates is none else [] + incremental_predicates -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- for key in keys -%}
        {%- do predicates.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    {%- set deletion = 'DBT_INTERNAL_SOURCE.' ~ delete_if_null ~ ' is null' %}

    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on {{ predicates | join(' and ') }}
    when matched and {{ deletion }} then delete
    when matched then update set *
    when not matched and not ({{ deletion }}) then insert *
{% endmacro %}
