{#-- The incremental strategy 'replace_where' (Delta, Python models): the model's new rows replace the target
     rows matching the predicate the model gave at run time (see dbt.adapters.spark_lakehouse.replacement),
     in one atomic commit. A model that replaces nothing writes nothing.

     dbt-spark's incremental materialization calls the validation below by name, and dbt flattens adapter
     packages into one namespace, so ours replaces dbt-spark's (1.11.0, pinned) instead of wrapping it. It
     keeps its strategies and its checks, and adds 'replace_where'. --#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
  {%- set table_formats = ['delta', 'iceberg', 'hudi'] -%}
  {%- set needs = {
    'append': [],
    'insert_overwrite': [],
    'microbatch': [],
    'merge': table_formats,
    'replace_where': ['delta'],
  } -%}
  {%- if raw_strategy not in needs -%}
    {% do exceptions.raise_compiler_error(
      "Invalid incremental strategy provided: " ~ raw_strategy
      ~ "\nExpected one of: '" ~ (needs.keys() | join("', '")) ~ "'"
    ) %}
  {%- endif -%}
  {%- if needs[raw_strategy] and file_format not in needs[raw_strategy] -%}
    {% do exceptions.raise_compiler_error(
      "Invalid incremental strategy provided: " ~ raw_strategy
      ~ "\nYou can only choose this strategy when file_format is set to '" ~ (needs[raw_strategy] | join("' or '")) ~ "'"
    ) %}
  {%- endif -%}
  {%- if raw_strategy in ['insert_overwrite', 'microbatch'] and target.endpoint -%}
    {% do exceptions.raise_compiler_error(
      "Invalid incremental strategy provided: " ~ raw_strategy
      ~ "\nYou cannot use this strategy when connecting via endpoint\nUse the 'append' or 'merge' strategy instead"
    ) %}
  {%- endif -%}
  {%- if raw_strategy == 'replace_where' and model['language'] != 'python' -%}
    {% do exceptions.raise_compiler_error(
      "Invalid incremental strategy provided: replace_where\nIt needs a Python model, which says when it runs "
      ~ "what its rows replace; " ~ model['unique_id'] ~ " is a " ~ model['language'] ~ " model"
    ) %}
  {%- endif -%}
  {% do return(raw_strategy) %}
{% endmacro %}


{#-- The incremental materialization: dbt-spark's for SQL models. A Python model must use 'replace_where'
     (dbt-spark's Python path would write the rows to a `__dbt_tmp` table, describe it and the target, insert
     from it and drop it). Its first build and a full refresh create the table as dbt-spark does; otherwise the
     model's code ends by writing its rows straight into the target, in one Delta overwrite by the predicate
     the model gave, and writes nothing when it replaces no rows (replacement.write_replacing). dbt runs a
     Python model only from a materialization's own statement, so this cannot hand Python models to dbt-spark's
     materialization. --#}
{% materialization incremental, adapter='spark_lakehouse', supported_languages=['sql', 'python'] -%}
  {%- if model['language'] != 'python' -%}
    {{ return(materialization_incremental_spark()) }}
  {%- endif -%}

  {%- set file_format = dbt_spark_validate_get_file_format(config.get('file_format', default='parquet')) -%}
  {%- set strategy = dbt_spark_validate_get_incremental_strategy(config.get('incremental_strategy') or 'append', file_format) -%}
  {%- if strategy != 'replace_where' -%}
    {% do exceptions.raise_compiler_error(
      model['unique_id'] ~ ": an incremental Python model uses incremental_strategy 'replace_where' "
      ~ "(returning replace_where(dbt, rows, predicate)), not '" ~ strategy ~ "'"
    ) %}
  {%- endif -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- if on_schema_change not in ['ignore', 'append_new_columns'] -%}
    {% do exceptions.raise_compiler_error(
      model['unique_id'] ~ ": incremental_strategy 'replace_where' supports on_schema_change 'ignore' or "
      ~ "'append_new_columns', not '" ~ on_schema_change ~ "'"
    ) %}
  {%- endif -%}
  {%- set existing_relation = load_relation(this) -%}

  {{ run_hooks(pre_hooks) }}
  {%- if existing_relation is none or existing_relation.is_view or should_full_refresh() -%}
    {%- if existing_relation is not none and existing_relation.is_view -%}
      {% do adapter.drop_relation(existing_relation) %}
    {%- endif -%}
    {%- call statement('main', language='python') -%}
      {{ create_table_as(False, this, compiled_code, 'python') }}
    {%- endcall -%}
    {% do persist_constraints(this, model) %}
  {%- else -%}
    {%- call statement('main', language='python') -%}
      {{ lakehouse_py_write_replacing(compiled_code, this, on_schema_change) }}
    {%- endcall -%}
  {%- endif -%}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode) %}
  {% do apply_grants(this, config.get('grants'), should_revoke) %}
  {% do persist_docs(this, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [this]}) }}
{%- endmaterialization %}


{% macro lakehouse_py_write_replacing(compiled_code, target_relation, on_schema_change) %}
{{ compiled_code }}
# --- dbt materialization code (spark_lakehouse, replace_where) --- #
from dbt.adapters.spark_lakehouse.replacement import write_replacing

write_replacing(spark, model(dbtObj(spark.table), spark), "{{ target_relation }}", "{{ on_schema_change }}")
{%- endmacro %}
