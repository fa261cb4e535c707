"""A value made once in a file (the lakehouse's secret and id): processes that start at once agree on one value,
exactly one of them makes it, and the file has the mode asked for."""

import stat
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from ingest.lakehouse.made_once import ensure_value, read_value

RACERS = 8


def _ensure(path: str) -> tuple[str, bool]:
    return ensure_value(Path(path), lambda: uuid.uuid4().hex, 0o600)


def test_racing_processes_agree_on_one_value_made_by_one_of_them(tmp_path: Path) -> None:
    path = tmp_path / "lakehouse" / "secret"
    with ProcessPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(_ensure, [str(path)] * RACERS))
    values = {value for value, _ in outcomes}
    assert len(values) == 1 and len(next(iter(values))) == 32  # one uuid4 hex, whole
    assert sum(made for _, made in outcomes) == 1
    assert read_value(path) == next(iter(values))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [child.name for child in path.parent.iterdir()] == ["secret"]  # no draft left beside it


def test_an_existing_value_is_kept_and_an_empty_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "lakehouse_id"
    path.write_text("abc\n")
    assert ensure_value(path, lambda: "other", 0o644) == ("abc", False)
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(OSError, match=str(empty)):
        ensure_value(empty, lambda: "new", 0o644)  # a file there but empty: not made again, named
