with

timezones as (

    select * from {{ bronze_source('participants', 'participant_timezones') }}

),

final as (

    select
        user_id,
        timezone,
        set_at
    from timezones

)

select * from final
