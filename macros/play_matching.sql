{#
    Reconciling the sources of plays (docs/data-model.md#one-play-per-real-play): the recently-played API
    (`api`), the extended export (`export_extended`) and the classic export (`export_classic`) list the same
    plays, each in its own way. `matched_plays` finds which staged plays are one real play; `reconciled_plays`
    keeps one row per real play with each field from the source that knows it best.

    The rules, with their dbt vars (defaults and the offsets they were measured from in the docs):
    - an extended-export play and an API play are one play when they have the same listener and track id and
      the export's `ts` lies within `play_match_api_tolerance_seconds` of the API's `played_at`;
    - a classic-export play (no track id, `endTime` to the minute) and an extended or API play are one play when
      they have the same listener, normalised title and artist (`play_match_normalisation`; the API lists every
      artist, "A, B", the exports the first, so an API play's artists may also begin with the classic's artist)
      and the other's end time minus the classic `endTime` lies within `play_match_classic_window_seconds`.
    A play is one play with at most one play of each other source. Among the candidates the nearest in time
    wins (first preferring an extended play long enough for the API to list, over 30 s, and for the classic
    export one with the same ms_played): rounds of mutual best choices, each over what the earlier rounds left,
    so the outcome depends on the plays alone, never on the order they arrived in.
#}

{#- The normalised form of a name column: the steps of `var('play_match_normalisation')` in order. -#}
{% macro normalised_name(column) -%}
    {%- set normalised = namespace(sql=column) -%}
    {%- for step in var('play_match_normalisation') -%}
        {%- if step == 'lowercase' -%}
            {%- set normalised.sql = 'lower(' ~ normalised.sql ~ ')' -%}
        {%- elif step == 'punctuation' -%}
            {%- set normalised.sql = 'regexp_replace(' ~ normalised.sql ~ ", '[^\\\\p{L}\\\\p{N}\\\\s]', ' ')" -%}
        {%- elif step == 'whitespace' -%}
            {%- set normalised.sql = 'trim(regexp_replace(' ~ normalised.sql ~ ", '\\\\s+', ' '))" -%}
        {%- else -%}
            {%- do exceptions.raise_compiler_error(
                "var play_match_normalisation: unknown step '" ~ step
                ~ "' (the steps are lowercase, punctuation and whitespace)"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ normalised.sql }}
{%- endmacro %}

{#- The matching windows in microseconds, checked: each far shorter than a listening session's gap. -#}
{% macro play_match_windows() -%}
    {%- set api_seconds = var('play_match_api_tolerance_seconds') | float -%}
    {%- set classic_seconds = var('play_match_classic_window_seconds') -%}
    {%- set gap_seconds = (var('session_gap_minutes') | int) * 60 -%}
    {%- if api_seconds < 0 or (classic_seconds | length) != 2 or classic_seconds[0] > classic_seconds[1] -%}
        {%- do exceptions.raise_compiler_error(
            "vars play_match_api_tolerance_seconds (" ~ api_seconds ~ ") must be at least 0 and "
            ~ "play_match_classic_window_seconds (" ~ classic_seconds ~ ") a pair [from, to] with from <= to"
        ) -%}
    {%- endif -%}
    {%- set widest = [api_seconds, classic_seconds[0] | abs, classic_seconds[1] | abs] | max -%}
    {%- if widest * 3 >= gap_seconds -%}
        {%- do exceptions.raise_compiler_error(
            "the play matching windows (play_match_api_tolerance_seconds, play_match_classic_window_seconds) "
            ~ "must stay under a third of session_gap_minutes (" ~ gap_seconds ~ " s): an incremental build "
            ~ "relies on matched plays lying within one session"
        ) -%}
    {%- endif -%}
    {%- do return({
        'api': (api_seconds * 1000000) | int,
        'classic_from': (classic_seconds[0] * 1000000) | int,
        'classic_to': (classic_seconds[1] * 1000000) | int,
    }) -%}
{%- endmacro %}

{#- The time buckets (of `width` microseconds) that the range [time + low, time + high] touches: joining one
    side's buckets to the other's single bucket finds every pair within the range without comparing a
    listener's every play of a track with every other. -#}
{% macro time_buckets(time_micros, low, high, width) -%}
    sequence(
        cast(floor(({{ time_micros }} + {{ low }}) / {{ width }}) as bigint),
        cast(floor(({{ time_micros }} + {{ high }}) / {{ width }}) as bigint)
    )
{%- endmacro %}

{#- CTEs `<name>_round_1` … `<name>_pairs`: from `candidates` (left_id, right_id, mismatch, distance), the pairs
    where each side is the other's best candidate (fewest mismatch, then nearest, then the lower id), over
    `rounds` rounds, each among the candidates whose sides are both still unpaired. The order is total and the
    same from both sides, so every round pairs at least the best remaining pair. Each round adds columns to one
    stream of candidates (windows, no self-joins), so Spark plans it once: a round that re-read the earlier
    rounds' CTEs would copy their plans into it, twice per round. -#}
{% macro mutual_best_pairs(name, candidates, rounds=3) -%}
    {%- for round in range(1, rounds + 1) %}
        {%- set earlier = candidates if round == 1 else name ~ '_round_' ~ (round - 1) %}
        {%- set open = 'true' if round == 1 else 'not (left_paired or right_paired)' %}
        {%- set open_first = '' if round == 1 else open ~ ' desc, ' %}

    {{ name }}_choices_{{ round }} as (

        select
            * {{- ' except (left_paired, right_paired)' if round > 1 }},
            {{ open }} as open_{{ round }},
            row_number() over (
                partition by left_id order by {{ open_first }}mismatch, distance, right_id
            ) as left_choice_{{ round }},
            row_number() over (
                partition by right_id order by {{ open_first }}mismatch, distance, left_id
            ) as right_choice_{{ round }}
        from {{ earlier }}

    ),

    {{ name }}_chosen_{{ round }} as (

        select
            *,
            {%- for earlier_round in range(1, round) %}
            paired_{{ earlier_round }} or
            {%- endfor %}
            (open_{{ round }} and left_choice_{{ round }} = 1 and right_choice_{{ round }} = 1) as paired_{{ round }}
        from {{ name }}_choices_{{ round }}

    ),

    {{ name }}_round_{{ round }} as (

        select
            *,
            max(paired_{{ round }}) over (partition by left_id) as left_paired,
            max(paired_{{ round }}) over (partition by right_id) as right_paired
        from {{ name }}_chosen_{{ round }}

    ),
    {%- endfor %}

    {{ name }}_pairs as (

        select
            left_id,
            right_id
        from {{ name }}_round_{{ rounds }}
        where paired_{{ rounds }}

    )
{%- endmacro %}

{#- The sources whose plays can be matched when `sources` (the sources present among the plays) are there:
    'api' (extended with API plays), 'classic' (classic with extended or API plays). -#}
{% macro play_match_stages(sources) -%}
    {%- set stages = [] -%}
    {%- if 'export_extended' in sources and 'api' in sources -%}
        {%- do stages.append('api') -%}
    {%- endif -%}
    {%- if 'export_classic' in sources and ('export_extended' in sources or 'api' in sources) -%}
        {%- do stages.append('classic') -%}
    {%- endif -%}
    {%- do return(stages) -%}
{%- endmacro %}

{#- CTEs ending in `<output>`: every play of `plays` (a CTE of staged plays) with `reconciled_play_id`, the
    play_id of the real play it is part of (its extended-export play, else its API play, else itself).
    `stages` (play_match_stages) says which matches can find anything: the others are left out of the SQL. -#}
{% macro matched_plays(plays, output, stages=['api', 'classic']) -%}
    {%- set windows = play_match_windows() -%}
    {%- set api_width = [windows.api * 2, 1] | max -%}
    {%- set classic_width = [windows.classic_to - windows.classic_from, 1] | max %}
    {%- if 'api' in stages %}

    api_buckets as (

        select
            api.*,
            explode({{ time_buckets('unix_micros(api.played_at)', -windows.api, windows.api, api_width) }}) as bucket
        from {{ plays }} as api
        where api.source = 'api'

    ),

    api_candidates as (

        select
            extended.play_id as left_id,
            api.play_id as right_id,
            cast(extended.ms_played < 30000 as int) as mismatch,
            abs(unix_micros(extended.played_at) - unix_micros(api.played_at)) as distance
        from {{ plays }} as extended
        inner join api_buckets as api
            on
                extended.user_id = api.user_id
                and extended.track_id = api.track_id
                and cast(floor(unix_micros(extended.played_at) / {{ api_width }}) as bigint) = api.bucket
        where
            extended.source = 'export_extended'
            and abs(unix_micros(extended.played_at) - unix_micros(api.played_at)) <= {{ windows.api }}

    ),

    {{ mutual_best_pairs('api_match', 'api_candidates') }},
    {%- endif %}
    {%- if 'classic' in stages %}

    {#- What a classic play is matched against: each extended play (with its API play, if any) and each API
        play no extended play took, by the extended play's time and names when there is one. #}
    match_units as (

        select
            unit.play_id as unit_id,
            unit.user_id,
            unit.played_at as ended_at,
            {{ normalised_name('unit.track_name') }} as match_title,
            {{ normalised_name('unit.artist_name') }} as match_artist,
            unit.source = 'api' as artist_lists_all,
            case when unit.source = 'export_extended' then unit.ms_played end as ms_played
        from {{ plays }} as unit
        {%- if 'api' in stages %}
        left anti join api_match_pairs as paired on unit.play_id = paired.right_id
        {%- endif %}
        where unit.source in ('export_extended', 'api')

    ),

    classic_buckets as (

        select
            classic.play_id,
            classic.user_id,
            classic.played_at,
            classic.ms_played,
            {{ normalised_name('classic.track_name') }} as match_title,
            {{ normalised_name('classic.artist_name') }} as match_artist,
            explode({{ time_buckets(
                'unix_micros(classic.played_at)', windows.classic_from, windows.classic_to, classic_width
            ) }}) as bucket
        from {{ plays }} as classic
        where classic.source = 'export_classic'

    ),

    classic_candidates as (

        select
            unit.unit_id as left_id,
            classic.play_id as right_id,
            cast(coalesce(unit.ms_played <> classic.ms_played, false) as int) as mismatch,
            abs(unix_micros(unit.ended_at) - unix_micros(classic.played_at) - 30000000) as distance
        from match_units as unit
        inner join classic_buckets as classic
            on
                unit.user_id = classic.user_id
                and unit.match_title = classic.match_title
                and cast(floor(unix_micros(unit.ended_at) / {{ classic_width }}) as bigint) = classic.bucket
        where
            unix_micros(unit.ended_at) - unix_micros(classic.played_at)
            between {{ windows.classic_from }} and {{ windows.classic_to }}
            and (
                unit.match_artist = classic.match_artist
                or (unit.artist_lists_all and startswith(unit.match_artist, classic.match_artist || ' '))
            )

    ),

    {{ mutual_best_pairs('classic_match', 'classic_candidates') }},
    {%- endif %}

    {{ output }} as (

        select
            {{ plays }}.*,
            {%- if stages %}
            coalesce(
                {%- for stage in stages %}
                {{ stage }}_match_pairs.left_id,
                {%- endfor %}
                {{ plays }}.play_id
            ) as reconciled_play_id
            {%- else %}
            {{ plays }}.play_id as reconciled_play_id
            {%- endif %}
        from {{ plays }}
        {%- for stage in stages %}
        left join {{ stage }}_match_pairs on {{ plays }}.play_id = {{ stage }}_match_pairs.right_id
        {%- endfor %}

    )
{%- endmacro %}

{#- The sources in the order a field is taken from them, by what the field is (docs/data-model.md):
    - detail: what was played and how (names, skips, reasons, shuffle, media type): extended > API > classic;
    - time: the exact end time and the track id: API (milliseconds, always a track id) > extended > classic;
    - listened: ms_played: extended > classic > API (the API reports no ms_played: its rows hold the track's
      duration). -#}
{% macro play_source_orders() -%}
    {%- do return({
        'detail': ['export_extended', 'api', 'export_classic'],
        'time': ['api', 'export_extended', 'export_classic'],
        'listened': ['export_extended', 'export_classic', 'api'],
    }) -%}
{%- endmacro %}

{#- How much a row's `column` is preferred under `order` (a key of play_source_orders): 0 when it is null. -#}
{% macro source_preference(column, order) -%}
    {%- set sources = play_source_orders()[order] -%}
    case
        when {{ column }} is null then 0
        {%- for source in sources %}
        when source = '{{ source }}' then {{ sources | length - loop.index0 }}
        {%- endfor %}
    end
{%- endmacro %}

{#- The CTE `<output>`: one row per real play of `matched` (a CTE from matched_plays), keyed by its
    reconciled_play_id, each field from the preferred source that has it, with `seen_in`, `field_sources`
    (the fields whose values differ between the sources, each with the source it was taken from) and
    `source_play_ids` (the staged plays it was made from). -#}
{% macro reconciled_plays(matched, output, stages=['api', 'classic']) -%}
    {%- set fields = {
        'played_at': 'time',
        'track_id': 'time',
        'track_name': 'detail',
        'artist_name': 'detail',
        'album_name': 'detail',
        'ms_played': 'listened',
        'reason_start': 'detail',
        'reason_end': 'detail',
        'skipped': 'detail',
        'shuffle': 'detail',
        'media_type': 'detail',
    } -%}
    {%- set compared = ['played_at', 'track_id', 'track_name', 'artist_name', 'album_name', 'ms_played', 'media_type']
    -%}
    {%- set seen_order = play_source_orders()['detail'] %}
    {%- if not stages %}

    {{ output }} as (

        select
            play_id,
            user_id,
            {%- for field in fields %}
            {{ field }},
            {%- endfor %}
            track_resolution,
            source,
            array(source) as seen_in,
            cast(map() as map<string, string>) as field_sources,
            array(play_id) as source_play_ids,
            loaded_at
        from {{ matched }}

    )
    {%- else %}

    {{ output }} as (

        select
            reconciled_play_id as play_id,
            user_id,
            {%- for field, order in fields.items() %}
            max_by({{ field }}, {{ source_preference(field, order) }}) as {{ field }},
            {%- endfor %}
            max_by(track_resolution, {{ source_preference('track_id', 'time') }}) as track_resolution,
            max_by(source, {{ source_preference('source', 'detail') }}) as source,
            filter(
                array(
                    {%- for source in seen_order %}
                    case when count_if(source = '{{ source }}') > 0 then '{{ source }}' end
                    {{- "," if not loop.last }}
                    {%- endfor %}
                ),
                seen -> seen is not null
            ) as seen_in,
            map_from_entries(filter(
                array(
                    {%- for field in compared %}
                    case
                        when min({{ field }}) <> max({{ field }})
                            then named_struct(
                                'field', '{{ field }}',
                                'source', max_by(source, {{ source_preference(field, fields[field]) }})
                            )
                    end{{ "," if not loop.last }}
                    {%- endfor %}
                ),
                disagreement -> disagreement is not null
            )) as field_sources,
            array_sort(collect_list(play_id)) as source_play_ids,
            max(loaded_at) as loaded_at
        from {{ matched }}
        group by user_id, reconciled_play_id

    )
    {%- endif %}
{%- endmacro %}
