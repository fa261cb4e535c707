{#
    The audio features every feature source carries (the Kaggle catalog, the Spotify endpoint, the
    synthetic generator), as staged. The list, with each feature's Bronze name, kind, valid range and unit,
    is written once: dbt_project.yml's vars.audio_features (Python reads it too, ingest/audio_features.py).
#}
{% macro audio_feature_columns() -%}
    {{ return(var('audio_features') | map(attribute='name') | list) }}
{%- endmacro %}

{#- The staged feature columns selected from a Bronze table: one line each, renamed where they differ. -#}
{% macro stage_audio_features() -%}
    {%- for feature in var('audio_features') -%}
        {%- set bronze_name = feature.get('bronze_name', feature.name) %}
        {{ bronze_name }}{{ " as " ~ feature.name if bronze_name != feature.name }}{{ "," if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
