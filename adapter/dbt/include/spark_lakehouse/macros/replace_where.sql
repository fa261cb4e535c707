{#-- The incremental strategy 'replace_where' (Delta, Python models): the model's new rows replace the target
     rows matching the predicate the model gave at run time (see dbt.adapters.spark_lakehouse.replacement),
     in one atomic commit. A model that replaces nothing writes nothing.

     dbt-spark's incremental materialization calls the two macros below by name, and dbt flattens adapter
     packages into one namespace, so ours replace dbt-spark's (1.11.0, pinned) instead of wrapping them. They
     keep its strategies and its checks, and add 'replace_where'. --#}

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


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
  {%- if strategy == 'append' -%}
    {{ get_insert_into_sql(source, target) }}
  {%- elif strategy == 'insert_overwrite' -%}
    {{ get_insert_overwrite_sql(source, target, existing) }}
  {%- elif strategy == 'microbatch' -%}
    {%- if not config.get('partition_by') -%}
      {{ exceptions.raise_compiler_error(
        "dbt-spark 'microbatch' incremental strategy requires a `partition_by` config.\nEnsure you are using a "
        ~ "`partition_by` column that is of grain " ~ config.get('batch_size') ~ "."
      ) }}
    {%- endif -%}
    {{ get_insert_overwrite_sql(source, target, existing) }}
  {%- elif strategy == 'merge' -%}
    {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
  {%- elif strategy == 'replace_where' -%}
    {{ lakehouse_replace_where_sql(source, target) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("No known SQL for the incremental strategy provided: " ~ strategy) }}
  {%- endif -%}
{% endmacro %}


{% macro lakehouse_replace_where_sql(source, target) %}
  {%- set predicate = adapter.replace_where_predicate(target) -%}
  {%- if predicate is none -%}
    {#-- nothing replaced, so nothing to write; the statement only reports it --#}
    select 'kept: the model replaced no rows' as result
  {%- else -%}
    {%- set dest_columns = adapter.get_columns_in_relation(target) -%}
    insert into table {{ target }}
    replace where {{ predicate }}
    select {{ dest_columns | map(attribute='quoted') | join(', ') }} from {{ source }}
  {%- endif -%}
{% endmacro %}
