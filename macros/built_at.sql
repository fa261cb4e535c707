{#
    When this dbt invocation started (`run_started_at`, UTC), as a timestamp literal: the value an
    incremental model writes into its `built_at` column, so the rows one build wrote are those with its
    `built_at`, and a later model can take the rows built since it last ran.
#}
{% macro built_at() -%}
    timestamp '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
{%- endmacro %}

{#
    The latest `built_at` of this incremental model, as a timestamp literal: the Silver rows built after it
    are those the model has not taken yet. None (take everything) on a first or full build, in a unit test,
    and on a table built by a version without the column. A literal, not a subquery, so Delta skips the files of
    rows built before it.
#}
{% macro built_at_watermark() -%}
    {%- if not execute or this is none or not is_incremental() -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- if 'built_at' not in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set latest = run_query('select cast(max(built_at) as string) from ' ~ this).columns[0].values()[0] -%}
    {%- do return(none if latest is none else "timestamp '" ~ latest ~ "'") -%}
{%- endmacro %}

{#
    Per listener with rows changed since a watermark in any of `changes`, the least value of `since_template`
    (a SQL expression with `{}` where the row's date or time goes) over those rows, as a string. Each change is
    (relation, changed column, watermark literal, date or time expression), e.g. Silver's rows by `built_at`.
    An incremental Gold model recomputes each such listener from there on, with literal filters Delta and Spark
    apply while scanning.
#}
{% macro listeners_changed_since(changes, since_template='{}') -%}
    {%- set query -%}
        select user_id, cast(min({{ since_template | replace('{}', 'changed_since') }}) as string) as since
        from (
            {%- for relation, changed_column, watermark, since_expression in changes %}
                select user_id, {{ since_expression }} as changed_since
                from {{ relation }}
                where {{ changed_column }} > {{ watermark }}
                {{- "\n                union all" if not loop.last }}
            {%- endfor %}
        )
        group by user_id
        order by user_id
    {%- endset -%}
    {%- do return(run_query(query).rows) -%}
{%- endmacro %}

{#- The local date of a UTC timestamp column in the listener's timezone. -#}
{% macro local_date(column, timezone) -%}
    to_date(from_utc_timestamp({{ column }}, '{{ timezone }}'))
{%- endmacro %}
