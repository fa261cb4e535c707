"""The key a play without a track id is matched by: normalised (first artist, title)."""

import re
import unicodedata


def normalise(text: str | None) -> str:
    """Case-folded NFKC text with punctuation as spaces and runs of spaces collapsed."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text)).strip()


def match_key(artist: str | None, title: str | None) -> tuple[str, str]:
    """The matching key of a track: its first artist (catalog artists are ';'-separated) and its title."""
    return normalise((artist or "").split(";")[0]), normalise(title)
