"""The expectation suites, in code: one per Bronze table and two for Silver ``listening_with_features`` (its rows,
and its feature coverage per listener, a suite made per run for the listeners the table holds).

A suite is plain data (check id, kind, Great Expectations expectation name and arguments); the runner turns
it into Great Expectations objects, so importing this module stays cheap. Severity comes from the config
(``expectations.toml``) by the check's kind, or an override for the check id.
"""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.kaggle.schema import VALID_RANGES
from spotify_analytics.quality.gate_config import CRITICAL, GateConfig

BRONZE = "bronze"
SILVER = "silver"
LAYERS = (BRONZE, SILVER)

AUDIO_FEATURES = (
    "danceability", "energy", "valence", "acousticness", "instrumentalness", "speechiness", "liveness",
    "loudness", "tempo", "key", "mode", "time_signature",
)  # fmt: skip
PLAY_SOURCES = ["api", "export_extended", "export_classic"]
EXPORT_SOURCES = ["export_extended", "export_classic"]
MEDIA_TYPES = ["audio", "video"]
FEATURE_SOURCES = ["spotify_api", "kaggle", "synthetic"]
MAX_PLAY_MS = VALID_RANGES["duration_ms"][1]
TABLE_COVERAGE_SHARES = ("overall", *FEATURE_SOURCES)
# A scope is part of names Great Expectations writes into its YAML config: no spaces (it folds long keys at them,
# into YAML it cannot read back).
LISTENER_COVERAGE = "feature_coverage_per_listener"


@dataclass(frozen=True)
class Check:
    check_id: str  # unique within the suite, e.g. "valence.range"; the key of severity overrides
    kind: str  # one of gate_config.CHECK_KINDS
    expectation: str  # Great Expectations class name in great_expectations.expectations
    kwargs: dict
    severity: str = ""  # set from the config by kind (or override), unless the check is made with one
    user_id: str | None = None  # the listener a per-listener check is about


@dataclass(frozen=True)
class TableSuite:
    layer: str
    table: str  # database.table validated by default
    checks: tuple[Check, ...]
    # Columns added before validation (name -> Spark SQL expression), e.g. 0/1 flags whose mean is a share.
    derived_columns: dict[str, str] = field(default_factory=dict)
    scope: str = ""  # what of the table the suite checks when not its rows, e.g. "feature_coverage_per_listener"

    @property
    def name(self) -> str:
        """The suite's name in Great Expectations and its Data Docs."""
        return f"{self.table}.{self.scope}" if self.scope else self.table

    def on_table(self, table: str) -> "TableSuite":
        return TableSuite(self.layer, table, self.checks, self.derived_columns, self.scope)


def not_null(column: str) -> Check:
    return Check(f"{column}.not_null", "not_null", "ExpectColumnValuesToNotBeNull", {"column": column})


def unique(*columns: str) -> Check:
    if len(columns) == 1:
        return Check(f"{columns[0]}.unique", "unique", "ExpectColumnValuesToBeUnique", {"column": columns[0]})
    return Check(
        f"{'+'.join(columns)}.unique", "unique", "ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)}
    )


def in_range(column: str, low: float, high: float) -> Check:
    return Check(
        f"{column}.range",
        "range",
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": low, "max_value": high},
    )


def feature_ranges(renamed: dict[str, str] | None = None) -> list[Check]:
    """Valid ranges of the audio features (``ingest.kaggle.schema.VALID_RANGES``), under their column names."""
    renamed = renamed or {}
    return [in_range(renamed.get(name, name), *VALID_RANGES[name]) for name in AUDIO_FEATURES]


def not_in_future(column: str, now: dt.datetime, tolerance_minutes: float) -> Check:
    latest = now + dt.timedelta(minutes=tolerance_minutes)
    return Check(
        f"{column}.not_in_future",
        "not_in_future",
        "ExpectColumnValuesToBeBetween",
        {"column": column, "max_value": latest.isoformat()},
    )


def accepted(column: str, values: list[str]) -> Check:
    arguments = {"column": column, "value_set": values}
    return Check(f"{column}.accepted_values", "accepted_values", "ExpectColumnValuesToBeInSet", arguments)


def coverage_share(name: str, flag_column: str, config: GateConfig) -> Check:
    bounds = config.coverage[name]
    low = bounds.min if bounds.min is not None or bounds.max is not None else 0.0  # always record the share
    return Check(
        f"coverage.{name}",
        "coverage",
        "ExpectColumnMeanToBeBetween",
        {"column": flag_column, "min_value": low, "max_value": bounds.max},
    )


def listener_share(
    name: str, column: str, user_id: str, low: float | None, severity: str = "", statistic: str = "Mean"
) -> Check:
    """The listener's share: ``column`` over their one row of the per-listener coverage frame (its mean, or its
    min for a second check of the same share: Great Expectations keeps one expectation per type and column)."""
    arguments = {
        "column": column,
        "min_value": low if low is not None else 0.0,  # always record the share
        "row_condition": f"user_id=={json.dumps(user_id)}",
        "condition_parser": "pandas",
    }
    expectation = f"ExpectColumn{statistic}ToBeBetween"
    return Check(f"coverage.{name}", "coverage", expectation, arguments, severity, user_id)


def listener_coverage_suite(table: str, user_ids: list[str], config: GateConfig) -> TableSuite:
    """Per listener of ``table``: the share of plays (``coverage_plays``) and of listening time
    (``coverage_minutes``) with features, warnings by default; with ``coverage.stop_below`` set, a critical check
    of the listening-time share against it. Validated on the frame ``quality.runner.listener_coverage`` makes."""
    plays, minutes, stop = (
        config.coverage["listener_plays"].min,
        config.coverage["listener_minutes"].min,
        config.coverage_stop_below,
    )
    checks: list[Check] = []
    for user_id in user_ids:
        checks.append(listener_share("listener_plays", "coverage_plays", user_id, plays))
        checks.append(listener_share("listener_minutes", "coverage_minutes", user_id, minutes))
        if stop > 0:
            checks.append(listener_share("stop_below", "coverage_minutes", user_id, stop, CRITICAL, "Min"))
    return with_severity(TableSuite(SILVER, table, tuple(checks), scope=LISTENER_COVERAGE), config)


def _kaggle_tracks(config: GateConfig, now: dt.datetime) -> TableSuite:
    return TableSuite(
        BRONZE,
        "bronze.kaggle_tracks_bronze",
        (
            not_null("catalog_row_id"),
            not_null("track_id"),
            not_null("catalog_source"),
            unique("catalog_row_id", "catalog_source"),
            *feature_ranges(),
            in_range("duration_ms", *VALID_RANGES["duration_ms"]),
            in_range("popularity", *VALID_RANGES["popularity"]),
            accepted("catalog_source", ["kaggle", "generated"]),
            not_in_future("loaded_at", now, config.future_tolerance_minutes),
        ),
    )


def _play_checks(config: GateConfig, now: dt.datetime) -> tuple[Check, ...]:
    """What every table of plays must hold: its key, a listener and a time not in the future, a sane duration."""
    return (
        not_null("play_id"),
        unique("play_id"),
        not_null("user_id"),
        not_null("played_at"),
        not_in_future("played_at", now, config.future_tolerance_minutes),
        not_null("ms_played"),
        in_range("ms_played", 0, MAX_PLAY_MS),
    )


def _listening_history(config: GateConfig, now: dt.datetime) -> TableSuite:
    checks = (*_play_checks(config, now), accepted("source", PLAY_SOURCES), accepted("media_type", MEDIA_TYPES))
    return TableSuite(BRONZE, "bronze.listening_history_bronze", checks)


def _spoken_word(table: str) -> Callable[[GateConfig, dt.datetime], TableSuite]:
    """The suite of a table of podcast-episode or audiobook-chapter plays."""
    return lambda config, now: TableSuite(
        BRONZE, f"bronze.{table}", (*_play_checks(config, now), accepted("source", EXPORT_SOURCES))
    )


def _track_features(config: GateConfig, now: dt.datetime) -> TableSuite:
    return TableSuite(
        BRONZE,
        "bronze.my_tracks_features_bronze",
        (
            not_null("track_id"),
            unique("track_id"),
            *feature_ranges(),
            in_range("duration_ms", *VALID_RANGES["duration_ms"]),
            accepted("features_source", ["spotify_api"]),
            not_in_future("fetched_at", now, config.future_tolerance_minutes),
        ),
    )


def _synthetic_features(config: GateConfig, now: dt.datetime) -> TableSuite:
    return TableSuite(
        BRONZE,
        "bronze.my_tracks_features_bronze_synthetic",
        (not_null("track_id"), unique("track_id"), *feature_ranges(), accepted("source", ["synthetic"])),
    )


def _listening_with_features(config: GateConfig, now: dt.datetime) -> TableSuite:
    flags = {"coverage_overall": "cast(feature_source is not null as double)"} | {
        f"coverage_{source}": f"cast(coalesce(feature_source = '{source}', false) as double)"
        for source in FEATURE_SOURCES
    }
    return TableSuite(
        SILVER,
        "silver.listening_with_features",
        (
            *_play_checks(config, now),
            not_null("has_features"),
            in_range("hour_of_day", 0, 23),
            in_range("day_of_week", 1, 7),
            *feature_ranges({"key": "musical_key", "mode": "musical_mode"}),
            accepted("source", PLAY_SOURCES),
            accepted("feature_source", FEATURE_SOURCES),
            *(coverage_share(name, f"coverage_{name}", config) for name in TABLE_COVERAGE_SHARES),
        ),
        flags,
    )


SUITE_BUILDERS = {
    BRONZE: (
        _kaggle_tracks,
        _listening_history,
        _spoken_word("podcast_history_bronze"),
        _spoken_word("audiobook_history_bronze"),
        _track_features,
        _synthetic_features,
    ),
    SILVER: (_listening_with_features,),
}


def with_severity(suite: TableSuite, config: GateConfig) -> TableSuite:
    checks = tuple(
        Check(
            c.check_id,
            c.kind,
            c.expectation,
            c.kwargs,
            c.severity or config.severity_of(suite.table, c.check_id, c.kind),
            c.user_id,
        )
        for c in suite.checks
    )
    return TableSuite(suite.layer, suite.table, checks, suite.derived_columns, suite.scope)


def layer_suites(layer: str, config: GateConfig, now: dt.datetime | None = None) -> list[TableSuite]:
    """The suites of a layer with severities resolved; ``now`` (UTC) bounds the timestamps."""
    if layer not in SUITE_BUILDERS:
        raise ValueError(f"Unknown layer {layer!r}; known: {', '.join(LAYERS)}")
    now = now or dt.datetime.now(dt.UTC)
    return [with_severity(build(config, now), config) for build in SUITE_BUILDERS[layer]]
