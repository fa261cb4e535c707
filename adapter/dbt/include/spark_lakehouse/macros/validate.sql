{#-- Which incremental strategies a model may use: dbt-spark's, plus 'replace_where' (Delta, Python models): the
     model's new rows replace the target rows matching the predicate the model gave at run time (see
     dbt.adapters.spark_lakehouse.replacement), in one atomic commit. A model that replaces nothing writes nothing.

     dbt-spark's incremental materialization calls this validation by name, and dbt flattens adapter packages
     into one namespace, so ours replaces dbt-spark's (1.11.0, pinned) instead of wrapping it. It keeps its
     strategies and its checks, and adds 'replace_where'. --#}

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
