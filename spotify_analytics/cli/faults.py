"""The one place that turns a failed lakehouse write or read into one line for the user: what failed, where, and
the command that recovers, instead of a Spark traceback.

Every command goes through ``run`` (``python -m spotify_analytics``), so a load, a check or a report that meets a
full disk, a read-only or unwritable folder, or a Delta commit cut short says so the same way. The server's error
text rarely names the folder (a full disk names no path), so the data directory's folders are looked at here: the
first one that is full or read-only is named. What is not recognised propagates unchanged (the traceback).
"""

import logging
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from ingest.lakehouse import watchdog
from ingest.lakehouse.writing import written_table

log = logging.getLogger(__name__)

RERUN = "python -m spotify_analytics pipeline"
START = "python -m spotify_analytics server start"
# What a Spark Connect error says when its server went away: its port refused, or it was restarted under the session.
SERVER_GONE = ("StatusCode.UNAVAILABLE", "INVALID_HANDLE.SESSION_CHANGED", "INVALID_HANDLE.SESSION_NOT_FOUND")
REPAIR = "python -m spotify_analytics doctor --repair"
ALL_OR_NOTHING = "Nothing half-written is kept (a Delta commit is all or nothing)"
NO_SPACE = "No space left on device"
READ_ONLY = "Read-only file system"
PERMISSION = ("Permission denied", "AccessDeniedException")
# A write the server could not make, whose text does not say why (Delta creating a table's log folder, Hadoop
# creating a folder): the folders say.
WRITE_FAILED = ("DELTA_CANNOT_CREATE_LOG_PATH", "Mkdirs failed", "FSError", "java.io.IOException")
COMMIT_PATH = re.compile(r"(/[^\s'\"`\]]*?/_delta_log/\d{20}\.json)")
FULL_BELOW_BYTES = 1 << 20  # a filesystem with less than 1 MiB free is full


# Commands the watchdog leaves alone: the pipeline supervises its steps (each a command of its own, watched).
UNWATCHED = frozenset({"pipeline"})


def run(app: Callable[..., object]) -> None:
    """Run the command line (``python -m spotify_analytics``) and exit with the command's code."""
    raise SystemExit(run_command(app, sys.argv[1:]))


def run_command(app: Callable[..., object], args: list[str]) -> int:
    """Run one command of the CLI and return its exit code; a lakehouse fault ends it with its one-line message and
    exit code 1, and so does its server's death or its deadline (the watchdog). The pipeline's worker runs its steps
    through this too, one after the other in one process."""
    command = shlex.join(args)
    if not UNWATCHED & set(args[:1]):
        watchdog.arm(command, describe_ending)
    try:
        app(args=args, prog_name="spotify_analytics")
    except SystemExit as exit_:
        return exit_code_of(exit_)
    except Exception as exc:
        message = describe(exc, data_path()) or server_gone(exc, command)
        if message is None:
            raise
        log.debug("The lakehouse fault in full", exc_info=True)
        print(f"error: {message}", file=sys.stderr, flush=True)
        return 1
    finally:
        watchdog.disarm()
    return 0


def exit_code_of(exit_: SystemExit) -> int:
    code = exit_.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr, flush=True)  # sys.exit("message"), as Python prints it
    return 1


def describe_ending(ending: watchdog.Ending) -> str:
    """The line a command ends with when its server died or its deadline passed."""
    from spotify_analytics.server.process import stop_reason

    settings, command = ending.settings, ending.command
    what = f"while `{command}` was {ending.doing}" if ending.doing else f"during `{command}`"
    rerun = f"python -m spotify_analytics {command}"
    if ending.kind == "timed_out":
        doing = f" (it was {ending.doing})" if ending.doing else ""
        return (
            f"`{command}` did not finish within {settings.lakehouse_command_timeout:.0f} s "
            f"(LAKEHOUSE_COMMAND_TIMEOUT){doing}: its operations on the lakehouse server at {settings.connect_url} "
            f"were interrupted. {ALL_OR_NOTHING}; rerun: {rerun}, or raise LAKEHOUSE_COMMAND_TIMEOUT"
        )
    return (
        f"The lakehouse server at {settings.connect_url} stopped answering {what} ({ending.seconds:.0f} s in); "
        f"{stop_reason(settings)}. {ALL_OR_NOTHING}; start the server again and rerun: {START} && {rerun}"
    )


def server_gone(exc: BaseException, command: str) -> str | None:
    """The watchdog's line for an error that says the server went away (its port refused, its session gone with
    a restart), when a command sees it before the watchdog does; None for any other error."""
    from ingest.config import ConfigError, get_settings

    if not any(sign in str(exc) for sign in SERVER_GONE):
        return None
    try:
        settings = get_settings()
    except ConfigError:
        return None
    return describe_ending(
        watchdog.Ending("server_gone", settings, command, watchdog.currently_doing(), watchdog.elapsed())
    )


def data_path() -> Path | None:
    from ingest.config import ConfigError, get_settings

    try:
        return get_settings().data_path
    except ConfigError:
        return None


def describe(exc: BaseException, data: Path | None) -> str | None:
    """The user's message for a failed lakehouse write or read; None when ``exc`` is not one of those faults."""
    text = str(exc)
    broken = broken_commit(text)
    if broken is not None:
        table = f"{broken.parent.parent.parent.name}.{broken.parent.parent.name}"
        return (
            f"Reading {table} failed: its Delta commit {broken} does not parse (cut short: a disk that filled or a "
            f"machine that stopped mid-write). Run: {REPAIR} (it sets the table back to its last whole commit, "
            f"or says what to restore), then rerun: {RERUN}"
        )
    table = written_table(exc)
    what = f"Loading {table}" if table else "Writing to the lakehouse"
    full, read_only = folder_where(data, is_full), folder_where(data, is_read_only)
    if NO_SPACE in text or (full and any(sign in text for sign in WRITE_FAILED)):
        return (
            f"{what} failed: no space left on device under {full or data or 'the data directory'}. {ALL_OR_NOTHING}; "
            f"free space, then rerun: {RERUN}"
        )
    if READ_ONLY in text or (read_only and any(sign in text for sign in WRITE_FAILED)):
        folder = read_only or data or "the data directory"
        return (
            f"{what} failed: {folder} is read-only. {ALL_OR_NOTHING}; make it writable again (a disk with errors "
            f"is remounted read-only: check it, then mount -o remount,rw), then rerun: {RERUN}"
        )
    if any(sign in text for sign in PERMISSION):
        folder = data or "the data directory"
        return (
            f"{what} failed: permission denied under {folder} (the lakehouse server's user may not write there). "
            f"{ALL_OR_NOTHING}; give that user write access to {folder}, then rerun: {RERUN}"
        )
    return None


def broken_commit(text: str) -> Path | None:
    """A Delta commit file the error names that does not parse on disk (a read of it failed because it is cut
    short), as ``doctor`` checks it."""
    from spotify_analytics.doctor.delta_logs import commit_parses

    for match in COMMIT_PATH.findall(text):
        path = Path("/" + match.lstrip("/"))
        if path.is_file() and not commit_parses(path):
            return path
    return None


def folder_where(data: Path | None, condition: Callable[[Path], bool]) -> Path | None:
    """The data directory, or else the first of its folders, whose filesystem meets ``condition``."""
    if data is None:
        return None
    try:
        folders = [data, *sorted(path for path in data.iterdir() if path.is_dir())]
    except OSError:
        return None
    return next((folder for folder in folders if condition(folder)), None)


def is_full(folder: Path) -> bool:
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < FULL_BELOW_BYTES


def is_read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False
