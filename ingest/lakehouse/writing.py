"""Which table a failed write was writing: a note on the exception, so the message a user sees can name the table
(the server's error for a full disk or a read-only folder names no path)."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from ingest.lakehouse.watchdog import doing

P = ParamSpec("P")
R = TypeVar("R")

WRITING = "while writing "


def writes(table_of: Callable[..., str]) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function that writes one table: an exception it raises carries the table's name (``table_of``
    gets the function's arguments), unless an inner write named its own; while it runs, the command is
    ``writing <table>`` (``watchdog.doing``)."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            table = table_of(*args, **kwargs)
            try:
                with doing(f"writing {table}"):
                    return function(*args, **kwargs)
            except Exception as exc:
                if written_table(exc) is None:
                    exc.add_note(WRITING + table)
                raise

        return wrapper

    return decorate


def written_table(exc: BaseException) -> str | None:
    """The table the failed write was writing, when the writer named it."""
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(WRITING):
            return note.removeprefix(WRITING)
    return None
