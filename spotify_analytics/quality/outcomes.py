"""What one validation run found: an Outcome per check, and the run's report with its exit code."""

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spotify_analytics.quality.gate_config import CRITICAL, WARNING
from spotify_analytics.quality.suites import Check, TableSuite

MISSING_TABLE_CHECK = "table.exists"


@dataclass(frozen=True)
class Outcome:
    table: str
    check_id: str
    kind: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: str  # readable observed value, e.g. "3 of 10000 rows (0.03%), e.g. [1.7, 2.0]"
    observed_number: float | None = None  # the observed statistic of aggregate checks (a coverage share)
    unexpected_count: int | None = None
    element_count: int | None = None
    user_id: str | None = None  # the listener of a per-listener check

    def summary(self) -> str:
        status = "ok" if self.success else self.severity.upper()
        listener = f" listener {self.user_id}" if self.user_id else ""
        return f"{status:8} {self.table}  {self.check_id}{listener} ({self.expectation}): {self.observed}"


@dataclass
class ValidationReport:
    run_id: str
    run_at: dt.datetime
    layer: str
    outcomes: list[Outcome] = field(default_factory=list)
    docs_index: Path | None = None
    unchanged: list[str] = field(default_factory=list)  # suites not run again: nothing written since they passed

    def failures(self, severity: str) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == severity]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures(CRITICAL) else 0

    def summary(self) -> str:
        critical, warnings = self.failures(CRITICAL), self.failures(WARNING)
        tables = sorted({o.table for o in self.outcomes})
        lines = [
            f"Quality gate {self.layer} (run {self.run_id}): {len(self.outcomes)} checks on {len(tables)} tables, "
            f"{len(critical)} critical failures, {len(warnings)} warnings."
        ]
        lines += [o.summary() for o in critical + warnings]
        if self.unchanged:
            lines.append(f"Unchanged since their last check (its results stand): {', '.join(self.unchanged)}")
        if self.docs_index:
            lines.append(f"Data Docs: {self.docs_index}")
        lines.append("FAILED: a critical expectation failed." if critical else "PASSED.")
        return "\n".join(lines)


def missing_table(suite: TableSuite, severity: str) -> Outcome:
    return Outcome(
        suite.table, MISSING_TABLE_CHECK, "missing_table", "table_exists", None, severity, False,
        "table does not exist (not loaded or built yet)",
    )  # fmt: skip


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _describe(result: dict[str, Any], check: Check) -> str:
    if "observed_value" in result:
        observed = result["observed_value"]
        number = _number(observed)
        bounds = [f">= {check.kwargs['min_value']}"] if check.kwargs.get("min_value") is not None else []
        bounds += [f"<= {check.kwargs['max_value']}"] if check.kwargs.get("max_value") is not None else []
        shown = f"{number:.4f}" if number is not None else str(observed)
        return f"{shown} (expected {' and '.join(bounds)})" if bounds else shown
    count, total = result.get("unexpected_count"), result.get("element_count")
    if count is None:
        return "no result"
    text = f"{count} of {total} rows unexpected ({result.get('unexpected_percent') or 0:.2f}%)"
    examples = result.get("partial_unexpected_list") or []
    return f"{text}, e.g. {examples[:3]}" if count else text


def _error(info: Any) -> str | None:
    """The message of an exception Great Expectations caught (its info is flat or keyed by metric)."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = (value for value in info.values() if isinstance(value, dict) and value.get("raised_exception"))
    return next((str(value.get("exception_message")) for value in nested), None)


def from_gx_result(table: str, check: Check, gx_result: Any) -> Outcome:
    """An Outcome from a Great Expectations ExpectationValidationResult of ``check``."""
    result = dict(gx_result.result or {})
    error = _error(gx_result.exception_info)
    # An empty table has no coverage share: nothing to measure is not a failed measurement.
    no_rows = check.kind == "coverage" and result.get("observed_value") is None and not error
    observed = f"error: {error}" if error else "no rows: coverage not measured" if no_rows else _describe(result, check)
    column = check.kwargs.get("column") or ",".join(check.kwargs.get("column_list", [])) or None
    return Outcome(
        table=table,
        check_id=check.check_id,
        kind=check.kind,
        expectation=check.expectation,
        column=column,
        severity=check.severity,
        success=(bool(gx_result.success) or no_rows) and not error,
        observed=observed,
        observed_number=_number(result.get("observed_value")),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        user_id=check.user_id,
    )
