"""Bytes of an export file → its JSON value, or a message saying why they are not JSON text.

Spotify writes UTF-8. A file saved again by another program may carry a byte-order mark or be UTF-16: both are
read (JSON's own encoding detection), with a note. Text that is not valid in its encoding (e.g. Latin-1 bytes) is
an error, as is JSON that is truncated or corrupt.
"""

import json
from dataclasses import dataclass

import orjson


class ExportFormatError(ValueError):
    """A file that cannot be read as JSON; the message says why (the caller names the file)."""


@dataclass(frozen=True)
class Parsed:
    value: object
    note: str = ""  # something the user should know about how the file was read


def parse_json(raw: bytes) -> Parsed:
    if not raw:
        raise ExportFormatError("empty file (0 bytes)")
    encoding = json.detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExportFormatError(
            f"not {encoding.upper()} text (byte 0x{raw[exc.start]:02x} at offset {exc.start} is invalid); "
            "Spotify writes UTF-8: was the file saved again in another encoding, e.g. Latin-1?"
        ) from None
    try:
        value = orjson.loads(text.removeprefix("\ufeff"))
    except orjson.JSONDecodeError as exc:
        raise ExportFormatError(f"not valid JSON, truncated or corrupt ({exc})") from None
    note = "" if encoding == "utf-8" else f"read as {_encoding_name(encoding)}, not plain UTF-8"
    return Parsed(value, note)


def _encoding_name(encoding: str) -> str:
    return "UTF-8 with a byte-order mark" if encoding == "utf-8-sig" else encoding.upper()
