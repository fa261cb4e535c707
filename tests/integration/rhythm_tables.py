"""Contract-shaped listening-rhythm tables for the report test (test_report.py): the columns the report reads of
listening_rhythms, listening_rhythms_diurnal, listening_rhythm_changes and year_in_review, computed in pandas from
the test's generated plays. They give the report realistic values to draw; the models' own formulas are checked by
their dbt unit tests and, on a real export, by test_real_exports_rhythms.py."""

import pandas as pd

from spotify_analytics.report.data import CHANGE_COLUMNS, DIURNAL_COLUMNS, rhythm_columns
from spotify_analytics.report.indicators import rhythm_settings

MEASURED = ("kaggle", "spotify_api")
PARTS = ("night", "morning", "afternoon", "evening")
MIN_MS, MIN_SHARE = 20 * 60_000, 0.5


def _weighted(group: pd.DataFrame, column: str) -> float | None:
    """ms-weighted mean over measured plays, null under the thresholds (as the models do)."""
    measured = group[group["feature_source"].isin(MEASURED)]
    ms, measured_ms = group["ms_played"].sum(), measured["ms_played"].sum()
    if ms < MIN_MS or measured_ms < MIN_SHARE * ms:
        return None
    return float((measured[column] * measured["ms_played"]).sum() / measured_ms)


def _share(part: pd.DataFrame, whole: pd.DataFrame) -> float | None:
    ms = whole["ms_played"].sum()
    return float(part["ms_played"].sum() / ms) if ms >= MIN_MS else None


def _period_starts(dates: pd.Series) -> dict[str, pd.Series]:
    dates = pd.to_datetime(dates)
    return {
        "week": dates.dt.to_period("W-SUN").dt.start_time,
        "month": dates.dt.to_period("M").dt.start_time,
        "year": dates.dt.to_period("Y").dt.start_time,
    }


def rhythms(plays: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for period_type, starts in _period_starts(plays["played_date_local"]).items():
        for (user, start), group in plays.assign(period_start=starts).groupby(["user_id", "period_start"]):
            ms = group["ms_played"].sum()
            measured = group[group["feature_source"].isin(MEASURED)]["ms_played"].sum()
            per_track = group.groupby("track_id")["ms_played"].agg(["sum", "first"])
            daily = pd.Series(
                [_weighted(day, "valence") for _, day in group.groupby("played_date_local")], dtype="float64"
            )
            counts = group.groupby("track_id").size()
            favourites = group[group["track_id"].isin(counts[counts >= 5].index)]
            known_days = daily.dropna()
            row = {
                "user_id": user, "period_type": period_type, "period_start": start.date(),
                "days_listened": group["played_date_local"].nunique(), "minutes_listened": ms / 60_000,
                "measured_share": measured / ms, "valence": _weighted(group, "valence"),
                "energy": _weighted(group, "energy"),
                "late_night_share": _share(group[group["hour_of_day"] < 5], group),
                "repeat_share": float((per_track["sum"] - per_track["first"]).sum() / ms),
                "top10_share": float(per_track["sum"].nlargest(10).sum() / ms),
                "judged_days": len(known_days),
                "low_valence_run_days": int((known_days < known_days.mean() - 0.05).sum()) if len(known_days) else None,
                "favourite_minutes": favourites["ms_played"].sum() / 60_000,
                "favourite_measured_share": (
                    float(favourites["feature_source"].isin(MEASURED).mean()) if len(favourites) else None
                ),
                "favourite_valence": _weighted(favourites, "valence"),
                "favourite_tempo": _weighted(favourites, "tempo"),
            }  # fmt: skip
            for part in PARTS:
                in_part = group[group["part_of_day"] == part]
                row |= {
                    f"valence_{part}": _weighted(in_part, "valence"),
                    f"energy_{part}": _weighted(in_part, "energy"),
                }
            for day_type, weekend in (("weekday", False), ("weekend", True)):
                of_type = group[group["is_weekend"] == weekend]
                row |= {
                    f"valence_{day_type}": _weighted(of_type, "valence"),
                    f"energy_{day_type}": _weighted(of_type, "energy"),
                }
            rows.append(row)
    return pd.DataFrame(rows)[rhythm_columns()]


def diurnal(plays: pd.DataFrame) -> pd.DataFrame:
    rows = []
    keyed = plays.assign(period_start=_period_starts(plays["played_date_local"])["year"])
    for day_type, chosen in (("all", keyed), ("weekday", keyed[~keyed["is_weekend"]]),
                             ("weekend", keyed[keyed["is_weekend"]])):  # fmt: skip
        for (user, start, hour), cell in chosen.groupby(["user_id", "period_start", "hour_of_day"]):
            ms = cell["ms_played"].sum()
            rows.append({
                "user_id": user, "period_type": "year", "period_start": start.date(), "day_type": day_type,
                "hour_of_day": hour,
                "minutes_listened": ms / 60_000,
                "measured_share": cell[cell["feature_source"].isin(MEASURED)]["ms_played"].sum() / ms,
                "valence": _weighted(cell, "valence"), "energy": _weighted(cell, "energy"),
            })  # fmt: skip
    return pd.DataFrame(rows)[DIURNAL_COLUMNS]


def changes(rhythm_rows: pd.DataFrame) -> pd.DataFrame:
    """Every indicator of each listener's periods against the period before and the 8 weeks before."""
    names = [indicator.name for indicator in rhythm_settings().indicators]
    rows = []
    for (user, period_type), periods in rhythm_rows.groupby(["user_id", "period_type"]):
        periods = periods.sort_values("period_start").reset_index(drop=True)
        weeks = rhythm_rows[(rhythm_rows["user_id"] == user) & (rhythm_rows["period_type"] == "week")]
        for index, period in periods.iterrows():
            before = weeks[(weeks["period_start"] < period["period_start"])].tail(8)
            for name in names:
                value, baseline = period[name], pd.to_numeric(before[name], errors="coerce").dropna()
                previous = periods[name].iloc[index - 1] if index else None
                z = (value - baseline.mean()) / baseline.std() if len(baseline) >= 4 and baseline.std() > 0 else None
                rows.append({
                    "user_id": user, "period_type": period_type, "period_start": period["period_start"],
                    "indicator": name, "value": value, "previous_value": previous,
                    "change_from_previous": (
                        None if previous is None or pd.isna(previous) or pd.isna(value) else value - previous
                    ),
                    "baseline_periods": len(baseline), "z_score": None if z is None or pd.isna(z) else float(z),
                })  # fmt: skip
    return pd.DataFrame(rows)[CHANGE_COLUMNS]


def year_in_review(plays: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    labelled = plays.merge(sessions[["session_id", "label"]], on="session_id")
    for (user, year), group in plays.groupby(["user_id", pd.to_datetime(plays["played_date_local"]).dt.year]):
        minutes = group.groupby("artist_name")["minutes_played"].sum().sort_values(ascending=False).head(5)
        tracks = group.groupby(["track_name", "artist_name"])["minutes_played"].sum().sort_values(ascending=False)
        moods = labelled[labelled["user_id"] == user]
        measured = float(moods["feature_source"].isin(MEASURED).mean())
        mix = moods.groupby("label")["ms_played"].sum() / moods["ms_played"].sum()
        rows.append({
            "user_id": user, "calendar_year": int(year), "plays": len(group),
            "minutes_listened": group["minutes_played"].sum(),
            "days_listened": group["played_date_local"].nunique(), "distinct_tracks": group["track_id"].nunique(),
            "distinct_artists": group["artist_name"].nunique(), "genre_known_share": 0.4,
            "mood_state_minutes": moods["minutes_played"].sum(), "mood_state_measured_share": measured,
            "top_artists": [
                {"rank": rank, "artist_name": name, "minutes": float(value)}
                for rank, (name, value) in enumerate(minutes.items(), 1)
            ],
            "top_tracks": [
                {"rank": rank, "track_name": title, "artist_name": artist, "minutes": float(value)}
                for rank, ((title, artist), value) in enumerate(tracks.head(5).items(), 1)
            ],
            "top_genres": [
                {"rank": 1, "genre": "indie", "minutes": 120.0}, {"rank": 2, "genre": "pop", "minutes": 60.0},
            ],
            "mood_state_mix": (
                [{"label": label, "share": float(share)} for label, share in mix.sort_index().items()]
                if measured >= MIN_SHARE else None
            ),
            "biggest_changes": None,  # one year of plays: nothing to compare with
        })  # fmt: skip
    return pd.DataFrame(rows)


RHYTHM_TYPES = {"period_start": "date", "user_id": "string", "period_type": "string", "days_listened": "bigint",
                "judged_days": "bigint", "low_valence_run_days": "int"}  # fmt: skip
YEAR_SCHEMA = (
    "user_id string, calendar_year int, plays bigint, minutes_listened double, days_listened bigint, "
    "distinct_tracks bigint, distinct_artists bigint, genre_known_share double, mood_state_minutes double, "
    "mood_state_measured_share double, "
    "top_artists array<struct<rank:int,artist_name:string,minutes:double>>, "
    "top_tracks array<struct<rank:int,track_name:string,artist_name:string,minutes:double>>, "
    "top_genres array<struct<rank:int,genre:string,minutes:double>>, "
    "mood_state_mix array<struct<label:string,share:double>>, "
    "biggest_changes array<struct<rank:int,indicator:string,value:double,previous_value:double,change:double,"
    "change_in_sds:double>>"
)


def schema_of(columns: list[str], types: dict[str, str]) -> str:
    """A DDL schema: the given types, double for every other column."""
    return ", ".join(f"{column} {types.get(column, 'double')}" for column in columns)


def table_schemas() -> dict[str, str]:
    return {
        "listening_rhythms": schema_of(rhythm_columns(), RHYTHM_TYPES),
        "listening_rhythms_diurnal": schema_of(
            DIURNAL_COLUMNS,
            {
                "user_id": "string",
                "period_type": "string",
                "period_start": "date",
                "day_type": "string",
                "hour_of_day": "int",
            },
        ),
        "listening_rhythm_changes": schema_of(
            CHANGE_COLUMNS,
            {
                "user_id": "string",
                "period_type": "string",
                "period_start": "date",
                "indicator": "string",
                "baseline_periods": "bigint",
            },
        ),
        "year_in_review": YEAR_SCHEMA,
    }
