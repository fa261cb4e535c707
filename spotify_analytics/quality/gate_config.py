"""The quality gate's severities and thresholds, read from a TOML file (``QUALITY_CONFIG``)."""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CRITICAL = "critical"
WARNING = "warning"
SEVERITIES = (CRITICAL, WARNING)
CHECK_KINDS = ("not_null", "unique", "range", "not_in_future", "accepted_values", "coverage", "missing_table")
# Shares of Silver's plays with features: over all plays and per feature source, and per listener as a share of
# plays and of listening time.
COVERAGE_SHARES = ("overall", "spotify_api", "kaggle", "synthetic", "listener_plays", "listener_minutes")
STOP_BELOW = "stop_below"


class QualityConfigError(ValueError):
    """The quality config file is missing or invalid; the message names the file and the key."""


@dataclass(frozen=True)
class Bounds:
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class GateConfig:
    severity: dict[str, str]
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    future_tolerance_minutes: float = 10.0
    coverage: dict[str, Bounds] = field(default_factory=dict)
    # A listener whose share of listening time with features is below this fails the gate critically (0: never).
    coverage_stop_below: float = 0.0

    def severity_of(self, table: str, check_id: str, kind: str) -> str:
        """The override for this table's check, else the severity of its kind."""
        return self.overrides.get(table, {}).get(check_id, self.severity[kind])


def _severity(value: object, where: str) -> str:
    if value not in SEVERITIES:
        raise QualityConfigError(f"{where} = {value!r}: must be one of {', '.join(SEVERITIES)}")
    return str(value)


def _bounds(raw: dict, where: str) -> Bounds:
    unknown = set(raw) - {"min", "max"}
    if unknown:
        raise QualityConfigError(f"{where}: unknown keys {sorted(unknown)} (use min and max)")
    for key, value in raw.items():
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise QualityConfigError(f"{where}.{key} = {value!r}: must be a share between 0 and 1")
    return Bounds(raw.get("min"), raw.get("max"))


def parse_config(raw: dict, source: str) -> GateConfig:
    severity_table = raw.get("severity", {})
    missing = [kind for kind in CHECK_KINDS if kind not in severity_table]
    if missing:
        raise QualityConfigError(f"{source}: [severity] lacks {', '.join(missing)}")
    severity = {kind: _severity(severity_table[kind], f"{source}: severity.{kind}") for kind in CHECK_KINDS}
    overrides = {
        table: {check: _severity(value, f"{source}: overrides.{table}.{check}") for check, value in checks.items()}
        for table, checks in raw.get("overrides", {}).items()
    }
    coverage_raw = dict(raw.get("coverage", {}))
    stop_below = coverage_raw.pop(STOP_BELOW, 0.0)
    if not isinstance(stop_below, int | float) or not 0 <= stop_below <= 1:
        raise QualityConfigError(f"{source}: coverage.{STOP_BELOW} = {stop_below!r}: must be a share between 0 and 1")
    unknown = set(coverage_raw) - set(COVERAGE_SHARES)
    if unknown:
        raise QualityConfigError(f"{source}: unknown coverage shares {sorted(unknown)}; known: {COVERAGE_SHARES}")
    coverage = {name: _bounds(coverage_raw.get(name, {}), f"{source}: coverage.{name}") for name in COVERAGE_SHARES}
    tolerance = raw.get("timestamps", {}).get("future_tolerance_minutes", 10)
    return GateConfig(severity, overrides, float(tolerance), coverage, float(stop_below))


def load_config(path: Path) -> GateConfig:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QualityConfigError(f"Quality config {path} not found (QUALITY_CONFIG)") from None
    except tomllib.TOMLDecodeError as exc:
        raise QualityConfigError(f"Quality config {path} is not valid TOML: {exc}") from None
    return parse_config(raw, str(path))
