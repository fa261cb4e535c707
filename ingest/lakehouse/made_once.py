"""A value made once for a lakehouse and kept in a file of its own (its secret, its id), which every process reads.

The first process that finds no value makes one; the file appears whole (written aside, then linked into place),
so processes that start at once agree on one value and none reads half of it.
"""

import os
from collections.abc import Callable
from pathlib import Path


def read_value(path: Path) -> str | None:
    """The file's value, or None when there is none yet (no file, an empty one) or it cannot be read."""
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def ensure_value(path: Path, make: Callable[[], str], mode: int) -> tuple[str, bool]:
    """The file's value, made now with ``make`` (the file with ``mode``) if it has none; and whether this call made
    it (False when it was there, or another process made it first)."""
    existing = read_value(path)
    if existing:
        return existing, False
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(make() + "\n")
    try:
        os.link(draft, path)
        made = True
    except FileExistsError:
        made = False
    finally:
        draft.unlink(missing_ok=True)
    value = read_value(path)
    if not value:
        raise OSError(f"{path} is empty or unreadable: remove it and start the server again")
    return value, made
