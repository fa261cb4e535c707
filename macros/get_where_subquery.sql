{#
    dbt's hook that narrows what a data test reads (its `where` config), plus one scope of our own: with
    `--vars '{data_tests_cover: rows_built_this_run}'` (the scheduled refresh passes it), a test of a model
    whose `meta.built_at_column` names its build marker reads only the rows this invocation wrote. An
    incremental MERGE on a key checked this way keeps the whole table checked: its older rows passed when
    they were written, and a new row with an old key replaces that row instead of joining it. `dbt build`
    without the var, and every full refresh, test every row.
#}
{% macro spark__get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- if config.get('where') -%}
        {%- do filters.append(config.get('where')) -%}
    {%- endif -%}
    {%- set built_at_column = tested_built_at_column() -%}
    {%- if built_at_column and not flags.FULL_REFRESH -%}
        {%- do filters.append(built_at_column ~ ' >= ' ~ built_at()) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{% macro tested_built_at_column() -%}
    {%- set cover = var('data_tests_cover', 'all') -%}
    {%- if cover not in ('all', 'rows_built_this_run') -%}
        {%- do exceptions.raise_compiler_error(
            "var('data_tests_cover') is '" ~ cover ~ "'; it must be 'all' or 'rows_built_this_run'"
        ) -%}
    {%- endif -%}
    {%- if cover == 'all' or not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set tested = graph.nodes.get(model.attached_node or '') -%}
    {%- do return(tested.config.meta.get('built_at_column') if tested else none) -%}
{%- endmacro %}
