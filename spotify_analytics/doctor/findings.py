"""What a check found: one line per thing checked, and whether it is fine, was repaired or needs a hand."""

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "repaired", "problem"]


@dataclass(frozen=True)
class Finding:
    check: str  # which check: server, locks, delta log, metastore, temp tables
    subject: str  # what was checked: a table, a folder, a file
    status: Status
    detail: str  # what was found, and what was done or is to be done

    def line(self) -> str:
        return f"{self.status.upper():<9} {self.check:<12} {self.subject}: {self.detail}"


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing needs a hand (all fine, or repaired), else 1."""
    return 1 if any(finding.status == "problem" for finding in findings) else 0
