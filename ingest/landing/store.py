"""Atomic, write-once files under ``data/landing`` and private state files under ``data/state``."""

import os
import tempfile
from pathlib import Path

import orjson


def write_once(path: Path, payload: bytes) -> bool:
    """Write ``payload`` to ``path`` atomically (temp file, fsync, rename). Returns False and leaves the
    file untouched when it already exists: landed files are never rewritten."""
    if path.exists():
        return False
    atomic_write(path, payload)
    return True


def atomic_write(path: Path, payload: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``payload`` so readers see the old or the new file, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json(path: Path, value: object, mode: int = 0o644) -> None:
    atomic_write(path, orjson.dumps(value, option=orjson.OPT_INDENT_2), mode)


def read_json(path: Path, default: object = None) -> object:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return default


def private_dir(path: Path) -> Path:
    """A directory only the owner can enter (tokens and cursors live there)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def landed_files(root: Path, pattern: str = "*.json") -> list[Path]:
    """Completed landing files below ``root`` in a stable order (temp files start with a dot)."""
    if not root.exists():
        return []
    return sorted(p for p in root.rglob(pattern) if not p.name.startswith("."))
