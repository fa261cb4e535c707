-- Predictive analytics.
-- Research question: can tomorrow's mood (the listening-weighted valence of the day) be forecast from
-- today's listening behaviour: today's mood, how much and how late I listened? A per-listener linear trend
-- on the previous day's valence, with the 7-day moving average as the naive baseline to beat.

with

wellbeing_days as (

    select * from {{ ref('wellbeing_indicators') }}
    where period_type = 'day' and valence_weighted is not null

),

with_history as (

    select
        user_id,
        period_start,
        valence_weighted,
        late_night_share,
        minutes_listened,
        lag(valence_weighted) over listener_days as previous_valence,
        avg(valence_weighted) over (
            partition by user_id order by period_start
            rows between 7 preceding and 1 preceding
        ) as moving_average_valence
    from wellbeing_days
    window listener_days as (partition by user_id order by period_start)

),

fitted as (

    select
        user_id,
        count(*) as fitted_days,
        regr_slope(valence_weighted, previous_valence) as slope,
        regr_intercept(valence_weighted, previous_valence) as intercept,
        round(regr_r2(valence_weighted, previous_valence), 3) as r_squared,
        round(corr(valence_weighted, late_night_share), 3) as late_night_correlation,
        round(corr(valence_weighted, minutes_listened), 3) as minutes_correlation,
        round(avg(abs(valence_weighted - moving_average_valence)), 3) as baseline_mean_abs_error
    from with_history
    where previous_valence is not null
    group by user_id

),

latest_day as (

    select
        user_id,
        max_by(valence_weighted, period_start) as last_valence,
        max(period_start) as last_day
    from wellbeing_days
    group by user_id

),

final as (

    select
        fitted.user_id,
        date_add(latest_day.last_day, 1) as forecast_day,
        round(fitted.intercept + fitted.slope * latest_day.last_valence, 3) as forecast_valence,
        fitted.r_squared,
        fitted.baseline_mean_abs_error,
        fitted.late_night_correlation,
        fitted.minutes_correlation,
        fitted.fitted_days
    from fitted
    inner join latest_day on fitted.user_id = latest_day.user_id

)

select * from final
