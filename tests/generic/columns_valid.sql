{#
    Row checks of many columns in one scan of the model: columns that must not be null, inclusive ranges
    (nulls pass) and accepted values (nulls pass). Fails with one row per failed check of a row, naming the
    column and the value. One query instead of one per column: each dbt test costs a query on the server,
    whatever the table's size.

        data_tests:
          - columns_valid:
              arguments:
                not_null: [user_id, played_at]
                between: {hour_of_day: [0, 23], valence: [0, 1]}
                accepted_values: {feature_source: [spotify_api, kaggle, synthetic]}
#}
{% test columns_valid(model, not_null=[], between={}, accepted_values={}) %}

{%- set checks = [] -%}
{%- for column in not_null -%}
    {%- do checks.append((column ~ ' is null', "'" ~ column ~ " is null'")) -%}
{%- endfor -%}
{%- for column, bounds in between.items() -%}
    {%- do checks.append((
        column ~ ' < ' ~ bounds[0] ~ ' or ' ~ column ~ ' > ' ~ bounds[1],
        "concat('" ~ column ~ " = ', cast(" ~ column ~ " as string), ' is outside ["
            ~ bounds[0] ~ ", " ~ bounds[1] ~ "]')"
    )) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set listed = "'" ~ values | join("', '") ~ "'" -%}
    {%- do checks.append((
        column ~ ' not in (' ~ listed ~ ')',
        "concat('" ~ column ~ " = ', " ~ column ~ ", ' is not one of " ~ values | join(', ') ~ "')"
    )) -%}
{%- endfor %}

with

failing_rows as (

    select
        filter(
            array(
                {%- for condition, message in checks %}
                    case when {{ condition }} then {{ message }} end{{ "," if not loop.last }}
                {%- endfor %}
            ),
            failure -> failure is not null
        ) as failures
    from {{ model }}
    where
        {%- for condition, _ in checks %}
            ({{ condition }}){{ " or" if not loop.last }}
        {%- endfor %}

),

failed_checks as (

    select explode(failures) as failed_check
    from failing_rows

)

select * from failed_checks

{% endtest %}
