"""Read what the report shows from Silver and Gold (through Spark Connect) into small pandas frames.

Every read checks first that its table and columns exist: a missing one becomes a ``TableRead`` with
a reason ("not available yet"), never an exception, so the report renders whatever is already built.
Aggregations over Silver (one row per play) run in Spark; only per-listener summaries come back.
"""

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

TOP_N = 10

WELLBEING_COLUMNS = [
    "user_id", "period_type", "period_start", "minutes_listened", "plays", "valence_weighted",
    "energy_weighted", "mood_variability", "late_night_share", "repeat_share", "skip_rate",
    "share_features_real", "share_features_kaggle", "share_features_synthetic", "share_no_features",
    "feature_coverage_plays", "feature_coverage_minutes", "podcast_minutes", "audiobook_minutes",
]  # fmt: skip
TEMPORAL_COLUMNS = ["user_id", "day_of_week", "hour_of_day", "minutes_listened", "plays", "mean_valence", "mean_energy"]
CLUSTER_COLUMNS = [
    "cluster_id", "label", "centroid_valence", "centroid_energy", "centroid_danceability", "centroid_acousticness",
    "sessions", "silhouette", "share_features_real", "share_features_kaggle", "share_features_synthetic",
]  # fmt: skip
SESSION_COLUMNS = [
    "session_id",
    "user_id",
    "session_start",
    "cluster_id",
    "label",
    "valence",
    "energy",
    "plays",
    "minutes_listened",
]
RECOMMENDATION_COLUMNS = [
    "user_id", "rank", "track_id", "track_name", "artist_name", "recommendation_type", "similarity",
    "target_valence", "target_energy", "reason",
]  # fmt: skip
# The listening-rhythm models: every indicator (vars.rhythm_indicators) and what each rests on.
RHYTHM_BASIS_COLUMNS = [
    "user_id", "period_type", "period_start", "days_listened", "minutes_listened", "measured_share",
    "favourite_minutes", "favourite_measured_share", "judged_days",
]  # fmt: skip
DIURNAL_COLUMNS = [
    "user_id", "period_type", "period_start", "day_type", "hour_of_day", "minutes_listened", "measured_share",
    "valence", "energy",
]  # fmt: skip
CHANGE_COLUMNS = [
    "user_id", "period_type", "period_start", "indicator", "value", "previous_value", "change_from_previous",
    "baseline_periods", "z_score",
]  # fmt: skip
YEAR_COLUMNS = [
    "user_id", "calendar_year", "plays", "minutes_listened", "days_listened", "distinct_tracks", "distinct_artists",
    "genre_known_share", "mood_state_minutes", "mood_state_measured_share",
]  # fmt: skip
YEAR_LISTS = ["top_artists", "top_tracks", "top_genres", "mood_state_mix", "biggest_changes"]
YEAR_ITEM_COLUMNS = [
    "user_id", "calendar_year", "list", "rank", "name", "detail", "value", "previous_value", "change", "change_in_sds",
]  # fmt: skip
SILVER_COLUMNS = [
    "user_id",
    "track_name",
    "artist_name",
    "ms_played",
    "minutes_played",
    "played_date_local",
    "skipped",
    "feature_source",
]


@dataclass(frozen=True)
class TableRead:
    """One query's result, or why it is not available yet."""

    table: str
    frame: pd.DataFrame | None = None
    missing: str = ""

    @property
    def available(self) -> bool:
        return self.frame is not None

    def rows(self) -> pd.DataFrame:
        """The frame (empty when not available), for code that only needs to iterate."""
        return self.frame if self.frame is not None else pd.DataFrame()

    def for_user(self, user_id: str) -> "TableRead":
        if self.frame is None or "user_id" not in self.frame.columns:
            return self
        return TableRead(self.table, self.frame[self.frame["user_id"] == user_id].reset_index(drop=True))


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; per-listener views come from ``for_user``."""

    wellbeing: TableRead
    temporal: TableRead
    clusters: TableRead
    sessions: TableRead
    recommendations: TableRead
    listening: TableRead
    top_artists: TableRead
    top_tracks: TableRead
    rhythms: TableRead
    diurnal: TableRead
    rhythm_changes: TableRead
    years: TableRead
    year_items: TableRead

    def users(self) -> list[str]:
        ids: set[str] = set()
        for read in self.all_reads():
            if read.frame is not None and "user_id" in read.frame.columns:
                ids.update(str(value) for value in read.frame["user_id"].dropna())
        return sorted(ids)

    def all_reads(self) -> list[TableRead]:
        return [
            self.wellbeing, self.temporal, self.clusters, self.sessions,
            self.recommendations, self.listening, self.top_artists, self.top_tracks, self.rhythms, self.diurnal,
            self.rhythm_changes, self.years, self.year_items,
        ]  # fmt: skip

    def for_user(self, user_id: str) -> "ReportData":
        return ReportData(*(read.for_user(user_id) for read in self.all_reads()))


def read_report_data(spark: "SparkSession", gold: str = "gold", silver: str = "silver") -> ReportData:
    """Query Silver and Gold; each table that is missing (or lacks a column) is reported, not raised."""
    listening = f"{silver}.listening_with_features"
    return ReportData(
        wellbeing=_read(spark, f"{gold}.wellbeing_indicators", WELLBEING_COLUMNS, _select(WELLBEING_COLUMNS)),
        temporal=_read(spark, f"{gold}.temporal_patterns", TEMPORAL_COLUMNS, _select(TEMPORAL_COLUMNS)),
        clusters=_read(spark, f"{gold}.mood_clusters", CLUSTER_COLUMNS, _select(CLUSTER_COLUMNS)),
        sessions=_read(spark, f"{gold}.mood_session_clusters", SESSION_COLUMNS, _select(SESSION_COLUMNS)),
        recommendations=_read(
            spark, f"{gold}.track_recommendations", RECOMMENDATION_COLUMNS, _select(RECOMMENDATION_COLUMNS)
        ),
        listening=_read(spark, listening, SILVER_COLUMNS, _listening_summary_sql),
        top_artists=_read(spark, listening, SILVER_COLUMNS, _top_sql(["artist_name"])),
        top_tracks=_read(spark, listening, SILVER_COLUMNS, _top_sql(["track_name", "artist_name"])),
        rhythms=_read(spark, f"{gold}.listening_rhythms", rhythm_columns(), _select(rhythm_columns())),
        diurnal=_read(spark, f"{gold}.listening_rhythms_diurnal", DIURNAL_COLUMNS, _yearly_diurnal_sql),
        rhythm_changes=_read(spark, f"{gold}.listening_rhythm_changes", CHANGE_COLUMNS, _latest_changes_sql),
        years=_read(spark, f"{gold}.year_in_review", YEAR_COLUMNS, _select(YEAR_COLUMNS)),
        year_items=_read(spark, f"{gold}.year_in_review", ["user_id", "calendar_year", *YEAR_LISTS], _year_items_sql),
    )


def rhythm_columns() -> list[str]:
    """What the report reads of listening_rhythms: each indicator and the listening time it rests on."""
    from spotify_analytics.report.indicators import rhythm_settings

    names = [indicator.name for indicator in rhythm_settings().indicators]
    return RHYTHM_BASIS_COLUMNS + [name for name in names if name not in RHYTHM_BASIS_COLUMNS]


def _yearly_diurnal_sql(table: str) -> str:
    """The hour-by-hour rhythm of each listener's calendar years."""
    return f"select {', '.join(DIURNAL_COLUMNS)} from {table} where period_type = 'year'"


def _latest_changes_sql(table: str) -> str:
    """Each listener's latest week and month of indicator comparisons."""
    return f"""
        select {", ".join(CHANGE_COLUMNS)} from (
            select *, max(period_start) over (partition by user_id, period_type) as latest from {table}
            where period_type in ('week', 'month')
        ) where period_start = latest
    """


NO_TEXT = "cast(null as string)"
NO_NUMBERS = ", ".join(["cast(null as double)"] * 3)  # previous_value, change, change_in_sds


def _year_items_sql(table: str) -> str:
    """The year in review's lists, one row per entry: top artists, tracks and genres (value: minutes), the mood-state
    mix (value: share) and the biggest changes (value, previous_value, change, change_in_sds); ``detail``: a
    track's artist."""
    parts = {
        "top_artists": f"item.rank, item.artist_name, {NO_TEXT}, item.minutes, {NO_NUMBERS}",
        "top_tracks": f"item.rank, item.track_name, item.artist_name, item.minutes, {NO_NUMBERS}",
        "top_genres": f"item.rank, item.genre, {NO_TEXT}, item.minutes, {NO_NUMBERS}",
        "mood_state_mix": f"cast(null as int), item.label, {NO_TEXT}, item.share, {NO_NUMBERS}",
        "biggest_changes": (
            f"item.rank, item.indicator, {NO_TEXT}, item.value, item.previous_value, item.change, item.change_in_sds"
        ),
    }
    columns = ", ".join(YEAR_ITEM_COLUMNS)
    return " union all ".join(
        f"select * from (select user_id, calendar_year, '{name}' as list, {select} from {table} "
        f"lateral view explode({name}) as item) as {name}_items ({columns})"
        for name, select in parts.items()
    )


def _select(columns: list[str]):
    return lambda table: f"select {', '.join(columns)} from {table}"


def _listening_summary_sql(table: str) -> str:
    """Per listener: volume, dates, skip rate over plays whose skip flag is known, feature provenance and coverage
    (the share of plays and of listening time with features; null coverage of time for 0 ms in all)."""
    share = "avg(case when {cond} then 1.0 else 0.0 end)"
    featured_ms = "sum(case when feature_source is not null then ms_played else 0 end)"
    return f"""
        select user_id, count(*) as plays, sum(minutes_played) as minutes_listened,
               avg(case when feature_source is not null then 1.0 else 0.0 end) as feature_coverage_plays,
               try_divide({featured_ms}, sum(ms_played)) as feature_coverage_minutes,
               min(played_date_local) as first_day, max(played_date_local) as last_day,
               count(skipped) as plays_skip_known,
               avg(case when skipped then 1.0 when not skipped then 0.0 end) as skip_rate,
               {share.format(cond="feature_source = 'spotify_api'")} as share_features_real,
               {share.format(cond="feature_source = 'kaggle'")} as share_features_kaggle,
               {share.format(cond="feature_source = 'synthetic'")} as share_features_synthetic,
               {share.format(cond="feature_source is null")} as share_no_features
        from {table}
        where user_id is not null
        group by user_id
    """


def _top_sql(keys: list[str]):
    """Top ``TOP_N`` items by minutes per listener, with the skip rate over plays where it is known."""
    key_list = ", ".join(keys)
    not_null = " and ".join(f"{key} is not null" for key in keys)

    def sql(table: str) -> str:
        return f"""
            with per_item as (
                select user_id, {key_list}, sum(minutes_played) as minutes_listened, count(*) as plays,
                       avg(case when skipped then 1.0 when not skipped then 0.0 end) as skip_rate
                from {table}
                where user_id is not null and {not_null}
                group by user_id, {key_list}
            ),
            ranked as (
                select *, row_number() over (partition by user_id order by minutes_listened desc, {key_list}) as rank
                from per_item
            )
            select * from ranked where rank <= {TOP_N}
        """

    return sql


def _read(spark: "SparkSession", table: str, columns: list[str], query) -> TableRead:
    from pyspark.errors import PySparkException

    try:
        if not spark.catalog.tableExists(table):
            return _missing(table, f"{table} does not exist yet")
        present = {column.lower() for column in spark.table(table).columns}
        lacking = [column for column in columns if column not in present]
        if lacking:
            return _missing(table, f"{table} lacks column(s): {', '.join(lacking)}")
        frame = spark.sql(query(table)).toPandas()
    except PySparkException as exc:
        return _missing(table, f"{table} could not be read: {str(exc).splitlines()[0]}")
    log.info("Read %d rows from %s", len(frame), table)
    return TableRead(table, _normalise(frame))


def _missing(table: str, reason: str) -> TableRead:
    log.warning("Report: %s", reason)
    return TableRead(table, None, reason)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order and plain types: dates as Timestamps, ids as strings."""
    for column in ("period_start", "session_start", "first_day", "last_day"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column])
    if "user_id" in frame.columns:
        frame["user_id"] = frame["user_id"].astype(str)
    return frame.sort_values(list(frame.columns), kind="mergesort", na_position="last").reset_index(drop=True)
