{#
    A pre-hook for incremental models: dbt-spark sets `tblproperties` only when it creates a table, so a
    table built before a property was configured never gets it. This sets, on an existing table, the
    configured properties whose values differ (nothing when all match, so no Delta commit per run).
#}
{% macro apply_tblproperties() %}
    {%- if execute and is_incremental() -%}
        {%- set wanted = config.get('tblproperties') or {} -%}
        {%- set current = {} -%}
        {%- for row in run_query('show tblproperties ' ~ this) -%}
            {%- do current.update({row[0]: row[1]}) -%}
        {%- endfor -%}
        {%- set changed = [] -%}
        {%- for key, value in wanted.items() -%}
            {%- if current.get(key) != value | string -%}
                {%- do changed.append("'" ~ key ~ "' = '" ~ value ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if changed -%}
            alter table {{ this }} set tblproperties ({{ changed | join(', ') }})
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
