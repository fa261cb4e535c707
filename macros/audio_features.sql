{#
    The audio features every feature source carries (the Kaggle catalog, the Spotify endpoint, the
    synthetic generator), as staged: Bronze's `key` and `mode` are renamed so they read as music, not SQL.
    The Python side's list is ingest/catalog/schema.py (AUDIO_FEATURE_COLUMNS); change both together.
#}
{% macro audio_feature_columns() -%}
    {{ return([
        'danceability', 'energy', 'valence', 'acousticness', 'instrumentalness', 'speechiness',
        'liveness', 'loudness', 'tempo', 'musical_key', 'musical_mode', 'time_signature',
    ]) }}
{%- endmacro %}

{#- The staged feature columns selected from a Bronze table: one line each, renamed where they differ. -#}
{% macro stage_audio_features() -%}
    {%- set bronze_names = {'musical_key': 'key', 'musical_mode': 'mode'} -%}
    {%- for column in audio_feature_columns() -%}
        {%- set bronze_name = bronze_names.get(column, column) %}
        {{ bronze_name }}{{ " as " ~ column if bronze_name != column }}{{ "," if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
