"""The expectation suites, in code: one per Bronze table and two for Silver ``listening_with_features`` (its rows,
and its feature coverage per listener, a suite made per run for the listeners the table holds).

A Bronze suite checks what the table's declaration (``ingest.bronze.schemas``) says: its required columns are not
null, its key is unique, its columns hold values in their valid ranges and accepted values; plus the timestamps
that must not lie in the future. Silver's play checks are those of Bronze's plays.

A suite is plain data (check id, kind, Great Expectations expectation name and arguments); the runner turns
it into Great Expectations objects, so importing this module stays cheap. Severity comes from the config
(``expectations.toml``) by the check's kind, or an override for the check id.
"""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from ingest.audio_features import audio_features
from ingest.bronze.schemas import (
    AUDIOBOOK_HISTORY,
    KAGGLE_TRACKS,
    LISTENING_HISTORY,
    PARTICIPANT_TIMEZONES,
    PODCAST_HISTORY,
    SYNTHETIC_FEATURES,
    TRACK_FEATURES,
    BronzeTable,
)
from spotify_analytics.quality.gate_config import CRITICAL, GateConfig

BRONZE = "bronze"
SILVER = "silver"
LAYERS = (BRONZE, SILVER)

FEATURE_SOURCES = ["spotify_api", "kaggle", "synthetic"]
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
    scope: str = ""  # what of the table the suite checks when not its rows, e.g. "feature_coverage_per_listener"
    # The table's key and the column its writes stamp: with both, a run reads only the keys written since the last
    # check (``increments``); without, the whole table. Checks about the whole table (shares) have neither.
    key: tuple[str, ...] = ()
    stamp: str | None = None
    # A table that exists only once a command has written it (``participants set``): its absence is no finding.
    optional: bool = False

    @property
    def name(self) -> str:
        """The suite's name in Great Expectations and its Data Docs."""
        return f"{self.table}.{self.scope}" if self.scope else self.table

    def on_table(self, table: str) -> "TableSuite":
        return replace(self, table=table)

    def definition(self) -> tuple:
        """What the suite checks, to tell whether it changed: its checks' ids, expectations, arguments and
        severities (a bound that moves with the clock, ``not_in_future``'s, left out: it only ever widens)."""
        return tuple(
            (
                c.check_id,
                c.expectation,
                c.severity,
                c.user_id,
                None if c.kind == "not_in_future" else sorted(c.kwargs.items()),
            )
            for c in self.checks
        )

    def only(self, check_ids: set[str], scope: str) -> "TableSuite":
        """The suite of these checks only, under another scope (a suite of its own in Great Expectations)."""
        return replace(self, checks=tuple(c for c in self.checks if c.check_id in check_ids), scope=scope)


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


def staged_feature_ranges() -> list[Check]:
    """Valid ranges of the audio features (``ingest.audio_features``) under their staged names."""
    return [in_range(feature.name, feature.low, feature.high) for feature in audio_features()]


def declared_checks(table: BronzeTable, *columns: str) -> list[Check]:
    """What ``table``'s declaration says of its rows (of ``columns`` only, when given): required columns not null,
    the key unique, values within their valid ranges and among their accepted values."""
    declared = [column for column in table.columns if not columns or column.name in columns]
    checks = [not_null(column.name) for column in declared if column.required]
    if not columns or set(table.key) <= set(columns):
        checks.append(unique(*table.key))
    checks += [in_range(column.name, *column.valid_range) for column in declared if column.valid_range is not None]
    checks += [accepted(column.name, list(column.accepted)) for column in declared if column.accepted]
    return checks


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
    of the listening-time share against it. Validated on the frame ``quality.coverage.listener_shares`` makes."""
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


def _bronze(
    table: BronzeTable, *timestamps: str, optional: bool = False
) -> Callable[[GateConfig, dt.datetime], TableSuite]:
    """The suite of a Bronze table: its declared checks, and ``timestamps`` not in the future."""

    def build(config: GateConfig, now: dt.datetime) -> TableSuite:
        future = [not_in_future(column, now, config.future_tolerance_minutes) for column in timestamps]
        checks = (*declared_checks(table), *future)
        return TableSuite(BRONZE, table.qualified, checks, key=table.key, stamp=table.stamp.name, optional=optional)

    return build


# What every table of plays must hold, Bronze's and Silver's: its key, a listener and a time, a sane duration.
PLAY_CHECK_COLUMNS = ("play_id", "user_id", "played_at", "ms_played")


def _play_checks(config: GateConfig, now: dt.datetime) -> tuple[Check, ...]:
    """Silver's plays hold what Bronze's must (their key, listener, time and duration), their time not in the future."""
    return (
        *declared_checks(LISTENING_HISTORY, *PLAY_CHECK_COLUMNS),
        not_in_future("played_at", now, config.future_tolerance_minutes),
    )


SILVER_PLAYS = "silver.listening_with_features"
SILVER_STAMP = "built_at"  # what Silver's incremental builds stamp every row they write with
FEATURE_COVERAGE = "feature_coverage"


def _listening_with_features(config: GateConfig, now: dt.datetime) -> TableSuite:
    """Silver's rows: what its plays must hold, read for the plays built since the last check."""
    return TableSuite(
        SILVER,
        SILVER_PLAYS,
        (
            *_play_checks(config, now),
            not_null("has_features"),
            in_range("hour_of_day", 0, 23),
            in_range("day_of_week", 1, 7),
            *staged_feature_ranges(),
            accepted("source", list(LISTENING_HISTORY.column("source").accepted)),
            accepted("feature_source", FEATURE_SOURCES),
        ),
        key=("play_id",),
        stamp=SILVER_STAMP,
    )


def _feature_coverage(config: GateConfig, now: dt.datetime) -> TableSuite:
    """Silver's feature coverage shares (``coverage_overall``, ``coverage_<source>``): about the whole table, so
    checked on a summary of every row (``quality.coverage``) when the table changed."""
    checks = tuple(coverage_share(name, f"coverage_{name}", config) for name in TABLE_COVERAGE_SHARES)
    return TableSuite(SILVER, SILVER_PLAYS, checks, scope=FEATURE_COVERAGE)


SUITE_BUILDERS = {
    BRONZE: (
        _bronze(KAGGLE_TRACKS, "loaded_at"),
        _bronze(LISTENING_HISTORY, "played_at"),
        _bronze(PODCAST_HISTORY, "played_at"),
        _bronze(AUDIOBOOK_HISTORY, "played_at"),
        _bronze(TRACK_FEATURES, "fetched_at"),
        _bronze(SYNTHETIC_FEATURES),
        _bronze(PARTICIPANT_TIMEZONES, "set_at", optional=True),
    ),
    SILVER: (_listening_with_features, _feature_coverage),
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
    return replace(suite, checks=checks)


def layer_suites(layer: str, config: GateConfig, now: dt.datetime | None = None) -> list[TableSuite]:
    """The suites of a layer with severities resolved; ``now`` (UTC) bounds the timestamps."""
    if layer not in SUITE_BUILDERS:
        raise ValueError(f"Unknown layer {layer!r}; known: {', '.join(LAYERS)}")
    now = now or dt.datetime.now(dt.UTC)
    return [with_severity(build(config, now), config) for build in SUITE_BUILDERS[layer]]
