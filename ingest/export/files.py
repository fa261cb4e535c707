"""Every file of the paths a user hands to ``import-history``: files, folders (walked, nested as unzipped) and the
downloaded zip (read in memory, never extracted).

A folder's symlinks are followed only when they stay inside that folder; a zip member whose path would leave the
archive's folder (``../x.json``, an absolute path) is not read; a file that cannot be read, a folder that cannot
be listed and a zip that cannot be opened are refused by name. None of these stops the other files.
"""

import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class ExportEntry:
    """One file found: where it came from (a path, or ``archive.zip!member``) and how to read its bytes."""

    name: str
    base_name: str
    read: Callable[[], bytes]


@dataclass(frozen=True)
class Unreadable:
    """A file, folder, archive or member that cannot be read, and why."""

    name: str
    reason: str


Found = ExportEntry | Unreadable


def find_export_files(path: Path) -> Iterator[Found]:
    """The files under one path the user gave, in a stable order. A missing path is an error."""
    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        yield from _walk(path)
    else:
        yield from _file(path)


def _walk(root: Path) -> Iterator[Found]:
    real_root = root.resolve()
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(root, onerror=errors.append, followlinks=False):
        dirs.sort()
        here = Path(folder)
        for name in [*sorted(files), *(d for d in dirs if (here / d).is_symlink())]:
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(real_root):
                    yield Unreadable(str(path), f"a symlink to {target}, outside {root}: not followed")
                    continue
                if target.is_dir():
                    continue  # its files are reached under their own path inside the folder
            yield from _file(path)
        yield from (Unreadable(str(error.filename), _os_reason(error)) for error in errors)
        errors.clear()


def _file(path: Path) -> Iterator[Found]:
    if path.suffix.lower() == ".zip":
        yield from _zip(path)
    else:
        yield ExportEntry(str(path), path.name, path.read_bytes)


def _zip(path: Path) -> Iterator[Found]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else f"not a readable zip archive ({exc})"
        yield Unreadable(str(path), reason)
        return
    for member in members:
        name = f"{path}!{member}"
        if not _safe_member(member):
            yield Unreadable(name, "its path leaves the archive's folder: not read")
            continue
        yield ExportEntry(name, PurePosixPath(member).name, _member_reader(path, member))


def _safe_member(member: str) -> bool:
    parts = PurePosixPath(member.replace("\\", "/")).parts
    return bool(parts) and not member.startswith(("/", "\\")) and ".." not in parts and ":" not in parts[0]


def _member_reader(archive: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive) as opened:
            return opened.read(member)

    return read


def _os_reason(error: OSError) -> str:
    if isinstance(error, PermissionError):
        return "cannot be read: permission denied"
    return f"cannot be read: {error.strerror or error}"
