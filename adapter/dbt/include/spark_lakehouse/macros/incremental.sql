{#-- The incremental materialization: dbt-spark's for SQL models; for Python models the same strategies, plus
     'replace_where'. dbt runs a Python model only from a materialization's own statement, so Python models cannot
     be handed to dbt-spark's materialization: this one runs them and reuses dbt-spark's macros for the rest.

     - First build, a view in the way, or a full refresh: the model's rows become the table (an atomic overwrite
       when the table and the model are Delta; another existing relation is dropped first), as in dbt-spark.
     - 'replace_where': the model's code ends by writing its rows straight into the target, in one Delta
       overwrite by the predicate the model gave, and writes nothing when it replaces no rows
       (replacement.write_replacing).
     - 'append', 'merge', 'insert_overwrite': as dbt-spark does for Python models: the model's rows are written to
       `<table>__dbt_tmp`, schema changes are handled by on_schema_change, the strategy's SQL moves the rows into
       the target (merge with unique_key, merge_update_columns, merge_exclude_columns, incremental_predicates) and
       the temporary table is dropped.
     The target changes only after the model has run, in its last write (the staged strategies may alter its
     columns just before, for on_schema_change): a model that fails leaves it as it was. --#}
{% materialization incremental, adapter='spark_lakehouse', supported_languages=['sql', 'python'] -%}
  {%- if model['language'] != 'python' -%}
    {{ return(materialization_incremental_spark()) }}
  {%- endif -%}

  {%- set file_format = dbt_spark_validate_get_file_format(config.get('file_format', default='parquet')) -%}
  {%- set strategy = dbt_spark_validate_get_incremental_strategy(config.get('incremental_strategy') or 'append', file_format) -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- do lakehouse_validate_python_incremental(strategy, on_schema_change) -%}
  {%- set existing_relation = load_relation(this) -%}
  {%- set full_refresh = should_full_refresh() -%}

  {%- if strategy == 'insert_overwrite' and config.get('partition_by') -%}
    {%- call statement() -%}
      set spark.sql.sources.partitionOverwriteMode = DYNAMIC
    {%- endcall -%}
  {%- endif -%}

  {{ run_hooks(pre_hooks) }}
  {%- if existing_relation is none or existing_relation.is_view or full_refresh -%}
    {%- if existing_relation is not none and not (file_format == 'delta' and existing_relation.is_delta) -%}
      {% do adapter.drop_relation(existing_relation) %}
    {%- endif -%}
    {%- call statement('main', language='python') -%}
      {{ create_table_as(False, this, compiled_code, 'python') }}
    {%- endcall -%}
    {% do persist_constraints(this, model) %}
  {%- elif strategy == 'replace_where' -%}
    {%- call statement('main', language='python') -%}
      {{ lakehouse_py_write_replacing(compiled_code, this, on_schema_change) }}
    {%- endcall -%}
  {%- else -%}
    {%- set tmp_relation = this.incorporate(path={'identifier': this.identifier ~ '__dbt_tmp'}, type='table') -%}
    {%- call statement('create_tmp_relation', language='python') -%}
      {{ create_table_as(True, tmp_relation, compiled_code, 'python') }}
    {%- endcall -%}
    {%- do process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
    {%- set predicates = config.get('predicates', none) or config.get('incremental_predicates', none) -%}
    {%- call statement('main') -%}
      {{ dbt_spark_get_incremental_sql(strategy, tmp_relation, this, existing_relation, config.get('unique_key', none), predicates) }}
    {%- endcall -%}
    {%- call statement('drop_tmp_relation') -%}
      drop table if exists {{ tmp_relation }}
    {%- endcall -%}
  {%- endif -%}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=full_refresh) %}
  {% do apply_grants(this, config.get('grants'), should_revoke) %}
  {% do persist_docs(this, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [this]}) }}
{%- endmaterialization %}


{% macro lakehouse_validate_python_incremental(strategy, on_schema_change) %}
  {%- if strategy == 'microbatch' -%}
    {% do exceptions.raise_compiler_error(
      model['unique_id'] ~ ": incremental_strategy 'microbatch' needs a SQL model (dbt filters its inputs by batch); "
      ~ "a Python model uses 'append', 'merge', 'insert_overwrite' or 'replace_where'"
    ) %}
  {%- endif -%}
  {%- if strategy == 'replace_where' and on_schema_change not in ['ignore', 'append_new_columns'] -%}
    {% do exceptions.raise_compiler_error(
      model['unique_id'] ~ ": incremental_strategy 'replace_where' supports on_schema_change 'ignore' or "
      ~ "'append_new_columns', not '" ~ on_schema_change ~ "'"
    ) %}
  {%- endif -%}
{% endmacro %}
