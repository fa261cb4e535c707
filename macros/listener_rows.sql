{#
    The condition that picks the rows an incremental build recomputes: every row (`true`) when `starts` is none
    (a first or full build), else the rows of each listener in `starts` (pairs of user_id and a start), from its
    start on when `since_column` is given (compared as a `since_type` literal: 'timestamp' or 'date'), and no
    row (`false`) when `starts` is empty. Literals, so Delta and Spark skip the other listeners' files while
    scanning (a join would read every file). It is an `or` of terms: and-ed with another condition, it goes in
    parentheses (the macro cannot add them itself: Spark reads `from t where (false)` as an alias of `t`).
#}
{% macro listener_rows(starts, user_column='user_id', since_column=none, since_type='timestamp') -%}
    {%- if starts is none -%}
        true
    {%- else -%}
        false
        {%- for user_id, since in starts %}
            or ({{ user_column }} = {{ sql_string(user_id) }}
            {%- if since_column %} and {{ since_column }} >= {{ since_type }} {{ sql_string(since) }}{% endif %})
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}
