{#
    What the listening-rhythm models (listening_rhythms, listening_rhythms_diurnal, listening_rhythm_changes,
    year_in_review) share: the periods a local date falls in, which plays have measured audio features, and the
    rule that makes a figure null when too little listening or too few measured features stand behind it. The
    thresholds are dbt vars (dbt_project.yml: rhythm_min_minutes, rhythm_min_measured_share).
#}

{#- The local week (from Monday), calendar month and calendar year a local date falls in, as one generator: each
    row it is called on gives one row per period type, with `period_type` and `period_start`. -#}
{% macro rhythm_periods(date_column, period_types=('week', 'month', 'year')) -%}
    {%- set starts = {
        'week': "cast(date_trunc('week', " ~ date_column ~ ") as date)",
        'month': "trunc(" ~ date_column ~ ", 'month')",
        'year': "trunc(" ~ date_column ~ ", 'year')",
    } -%}
    inline(array(
        {%- for period_type in period_types %}
            named_struct('period_type', '{{ period_type }}', 'period_start', {{ starts[period_type] }})
            {{- "," if not loop.last }}
        {%- endfor %}
    )) as (period_type, period_start)
{%- endmacro %}

{#- Whether a play's audio features are measured (`var('measured_feature_sources')`: the Spotify API and the Kaggle
    catalog, never synthetic) and hold valence and energy. -#}
{% macro is_measured_play(source_column='feature_source') -%}
    coalesce(
        {{ source_column }} in ('{{ var("measured_feature_sources") | join("', '") }}')
        and valence is not null
        and energy is not null,
        false
    )
{%- endmacro %}

{#- A play's listening time (`ms_played`) when its features are measured (`is_measured_play`), else 0; times
    `feature` when given: the sums a listening-time-weighted mean of a feature over measured plays divides. -#}
{% macro measured_time(feature=none) -%}
    case when {{ is_measured_play() }} then {{ feature ~ ' * ' if feature else '' }}ms_played else 0 end
{%- endmacro %}

{#- Whether enough stands behind a figure: at least `var('rhythm_min_minutes')` of listening (`basis_ms`, in ms)
    and, for a figure that rests on audio features (`measured_ms` given), measured features behind at least
    `var('rhythm_min_measured_share')` of that time. -#}
{% macro rhythm_rests_on_enough(basis_ms, measured_ms=none) -%}
    {{ basis_ms }} >= {{ (var('rhythm_min_minutes') | float) * 60000 }}
    {%- if measured_ms is not none %}
        and {{ measured_ms }} >= {{ var('rhythm_min_measured_share') | float }} * {{ basis_ms }}
    {%- endif %}
{%- endmacro %}

{#- `numerator / denominator` when enough stands behind the figure (`rhythm_rests_on_enough`), else null; never a
    division error. -#}
{% macro rhythm_figure(numerator, denominator, basis_ms, measured_ms=none) -%}
    case
        when {{ rhythm_rests_on_enough(basis_ms, measured_ms) }}
            then try_divide({{ numerator }}, {{ denominator }})
    end
{%- endmacro %}

{#- Per listener with rows built since the model's latest `built_at` in any of `dated_relations` (pairs of a
    relation, read by its `built_at`, and the SQL date a row of it falls on), `since_template` (SQL with `{}` where
    that date goes) at the earliest of those rows, as a 'YYYY-MM-DD' string: where the model starts recomputing the
    listener. None (everything) on a full build. -#}
{% macro rhythm_starts_to_recompute(dated_relations, since_template='{}') -%}
    {%- set watermark = built_at_watermark() -%}
    {%- if watermark is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set changes = [] -%}
    {%- for relation, date_expression in dated_relations -%}
        {%- do changes.append((relation, 'built_at', watermark, date_expression)) -%}
    {%- endfor -%}
    {%- do return(listeners_changed_since(changes, since_template)) -%}
{%- endmacro %}

{#- `rhythm_starts_to_recompute` at the first day of the earliest year ('YYYY-01-01'): a yearly model recomputes
    that year and the later ones. -#}
{% macro rhythm_years_to_recompute(dated_relations) -%}
    {%- do return(rhythm_starts_to_recompute(dated_relations, "trunc({}, 'year')")) -%}
{%- endmacro %}

{#- Starts (pairs of a listener and a 'YYYY-MM-DD' date) moved `days` days earlier: where a model reads from to
    recompute from the starts, when a figure looks back that far. None stays none (everything). -#}
{% macro days_before(starts, days) -%}
    {%- if starts is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set moved = [] -%}
    {%- for user_id, start in starts -%}
        {%- set day = modules.datetime.date.fromisoformat(start) - modules.datetime.timedelta(days=days) -%}
        {%- do moved.append((user_id, day.isoformat())) -%}
    {%- endfor -%}
    {%- do return(moved) -%}
{%- endmacro %}

{#- The sample standard deviation of values from their count, sum and sum of squares: exact for values a hand
    check can follow, the same whatever order the rows come in; null for fewer than two values. -#}
{% macro sample_sd(count, total, squares) -%}
    case
        when {{ count }} > 1
            then sqrt(try_divide(greatest({{ squares }} - try_divide({{ total }} * {{ total }}, {{ count }}), 0), {{ count }} - 1))
    end
{%- endmacro %}
