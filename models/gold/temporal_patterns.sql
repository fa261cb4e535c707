with

plays as (

    select * from {{ ref('listening_with_features') }}

),

final as (

    select
        user_id,
        day_of_week,
        hour_of_day,
        cast(sum(ms_played) / 60000 as double) as minutes_listened,
        count(*) as plays,
        avg(valence) as mean_valence,
        avg(energy) as mean_energy
    from plays
    group by user_id, day_of_week, hour_of_day

)

select * from final
