"""Finding export files in paths (files, folders, zips) and telling their format from the name."""

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLASSIC = re.compile(r"^StreamingHistory(_music)?_?\d*\.json$", re.IGNORECASE)
EXTENDED = re.compile(r"^(Streaming_History_Audio_.*|endsong_\d+)\.json$", re.IGNORECASE)


@dataclass(frozen=True)
class ExportFile:
    name: str  # where it came from: path, or zip path!member
    kind: str  # 'classic' | 'extended'
    path: Path
    member: str | None = None

    def read(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(self.member)


def export_kind(filename: str) -> str | None:
    base = filename.rsplit("/", 1)[-1]
    if EXTENDED.match(base):
        return "extended"
    if CLASSIC.match(base):
        return "classic"
    return None


def find_export_files(paths: list[Path]) -> Iterator[ExportFile]:
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file():
                    yield from _from_file(child)
        else:
            yield from _from_file(path, explicit=True)


def _from_file(path: Path, explicit: bool = False) -> Iterator[ExportFile]:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = sorted(m for m in archive.namelist() if export_kind(m))
        for member in members:
            yield ExportFile(f"{path}!{member}", export_kind(member) or "", path, member)
        return
    kind = export_kind(path.name)
    if kind:
        yield ExportFile(str(path), kind, path)
    elif explicit and path.suffix.lower() == ".json":
        raise ValueError(
            f"{path}: not a recognised export file name (StreamingHistory*.json, "
            "Streaming_History_Audio_*.json or endsong_*.json)"
        )
