{#-- The code that ends a Python model: it calls the model and writes what it returns (a Spark, pandas or
     pandas-on-Spark DataFrame, see dbt.adapters.spark_lakehouse.results) with the adapter's Spark Connect
     session, `spark` (see python_submissions). --#}

{#-- Replaces dbt-spark's macro of the same name (dbt-spark's create_table_as calls it for Python models); ours
     converts the model's result with the adapter's session and partitions the table by `partition_by`. --#}
{% macro py_write_table(compiled_code, target_relation) %}
{%- set partition_by = config.get('partition_by') %}
{{ compiled_code }}
# --- dbt materialization code (spark_lakehouse) --- #
from dbt.adapters.spark_lakehouse.results import write_table

write_table(
    spark,
    model(dbtObj(spark.table), spark),
    "{{ target_relation }}",
    "{{ config.get('file_format', 'delta') }}",
    {{ partition_by | tojson if partition_by else 'None' }},
)
{%- endmacro %}


{% macro lakehouse_py_write_replacing(compiled_code, target_relation, on_schema_change) %}
{{ compiled_code }}
# --- dbt materialization code (spark_lakehouse, replace_where) --- #
from dbt.adapters.spark_lakehouse.replacement import write_replacing

write_replacing(spark, model(dbtObj(spark.table), spark), "{{ target_relation }}", "{{ on_schema_change }}")
{%- endmacro %}
