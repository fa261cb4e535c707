{#
    One row per track id with the audio features of the most preferred source that has them.
    Order: var('feature_source_priority'); sources not listed are never used. Synthetic features are
    left out entirely when var('allow_synthetic') (env ALLOW_SYNTHETIC) is false.
#}
{%- set priority = "'" ~ var('feature_source_priority') | join("', '") ~ "'" -%}
{%- set allow_synthetic_setting = var('allow_synthetic') | string | trim | lower -%}
{%- set allow_synthetic = allow_synthetic_setting not in ['false', '0', 'no', 'off', 'f', 'n'] -%}
{#- Each feature source and its staging model (all three are refs whatever the setting: one DAG). -#}
{%- set feature_sources = {'spotify_api': ref('stg_spotify__track_features'), 'kaggle': ref('stg_kaggle__tracks')} -%}
{%- set synthetic_features = ref('stg_synthetic__track_features') -%}
{%- if allow_synthetic -%}
    {%- do feature_sources.update({'synthetic': synthetic_features}) -%}
{%- endif %}

with

candidates as (
    {%- for feature_source, relation in feature_sources.items() %}

        select
            track_id,
            '{{ feature_source }}' as feature_source,
            {{ audio_feature_columns() | join(",\n            ") }}
        from {{ relation }}
        {%- if not loop.last %}

            union all
        {%- endif %}
    {%- endfor %}

),

ranked as (

    select
        *,
        array_position(
            array({{ priority }}),
            feature_source
        ) as priority_rank
    from candidates
    where track_id is not null

),

chosen as (

    select
        *,
        row_number() over (partition by track_id order by priority_rank) as choice
    from ranked
    where priority_rank > 0

),

final as (

    select
        track_id,
        feature_source,
        {{ audio_feature_columns() | join(",\n        ") }}
    from chosen
    where choice = 1

)

select * from final
