"""The style rules of the project hold: ruff on the Python, sqlfluff (dbt templater) on every SQL file.

sqlfluff's dbt templater compiles the project, and the incremental Silver model asks the lakehouse whether
its table exists, so the lint runs against the session's server (its ports are in the environment).
"""

import sys
from pathlib import Path

from conftest import Lakehouse

BIN = Path(sys.executable).parent
PYTHON = ["ingest", "spotify_analytics", "adapter", "tests", "bench", "superset", "conftest.py"]


def test_python_is_ruff_clean(lakehouse: Lakehouse) -> None:
    checked = lakehouse.run(str(BIN / "ruff"), "check", *PYTHON, "python_models")
    formatted = lakehouse.run(str(BIN / "ruff"), "format", "--check", *PYTHON)

    assert checked.returncode == 0, checked.stdout[-3000:]
    assert formatted.returncode == 0, formatted.stdout[-3000:]


def test_sql_is_sqlfluff_clean(lakehouse: Lakehouse) -> None:
    linted = lakehouse.run(str(BIN / "sqlfluff"), "lint", "models", "macros", "tests/generic", "analyses")

    assert linted.returncode == 0, linted.stdout[-5000:] + linted.stderr[-2000:]
    assert "All Finished" in linted.stdout
