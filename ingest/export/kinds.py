"""The kinds of listening history a Spotify privacy export holds: the file names Spotify has used for each, and
the shape of its records, by which a renamed file is still recognised.

The kind is the landing folder (``landing/export/<user_id>/<kind>/``) and tells the loader how to read the
records. Video files share the audio files' record layout: only the name tells them apart.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class HistoryKind:
    kind: str  # landing folder and envelope ``kind``
    label: str  # for people: "classic music", "extended video", ...
    file_name: re.Pattern[str]  # every name Spotify has given such a file
    record_keys: frozenset[str]  # keys every record of this shape carries


def _names(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


CLASSIC_MUSIC = HistoryKind(
    "classic",
    "classic music",
    _names(r"StreamingHistory\d+\.json", r"StreamingHistory_music_\d+\.json"),
    frozenset({"endTime", "artistName", "trackName", "msPlayed"}),
)
CLASSIC_PODCAST = HistoryKind(
    "classic_podcast",
    "classic podcast",
    _names(r"StreamingHistory_podcast_\d+\.json"),
    frozenset({"endTime", "podcastName", "episodeName", "msPlayed"}),
)
CLASSIC_AUDIOBOOK = HistoryKind(
    "classic_audiobook",
    "classic audiobook",
    _names(r"StreamingHistory_audiobook_\d+\.json"),
    frozenset({"endTime", "audiobookName", "chapterName", "msPlayed"}),
)
EXTENDED_AUDIO = HistoryKind(
    "extended",
    "extended audio",
    _names(
        r"endsong(?:_\d+)?\.json",
        r"Streaming_History_Audio_\d{4}(?:-\d{4})?(?:_\d+)?\.json",
    ),
    frozenset({"ts", "ms_played"}),
)
EXTENDED_VIDEO = HistoryKind(
    "extended_video",
    "extended video",
    _names(r"Streaming_History_Video_[^/]*\.json"),
    EXTENDED_AUDIO.record_keys,
)
KINDS = (CLASSIC_MUSIC, CLASSIC_PODCAST, CLASSIC_AUDIOBOOK, EXTENDED_AUDIO, EXTENDED_VIDEO)
BY_KIND = {kind.kind: kind for kind in KINDS}
# What a shape alone can tell: the video kind has the audio shape, so a renamed video file reads as audio.
SHAPES = (CLASSIC_MUSIC, CLASSIC_PODCAST, CLASSIC_AUDIOBOOK, EXTENDED_AUDIO)
SHAPE_SAMPLE = 50  # records looked at to tell a file's shape


def kind_by_name(file_name: str) -> HistoryKind | None:
    """The kind Spotify's name for the file says (the base name, in any letter case), or None."""
    base = file_name.rsplit("/", 1)[-1]
    return next((kind for kind in KINDS if kind.file_name.fullmatch(base)), None)


def kind_by_shape(records: list) -> HistoryKind | None:
    """The shape most of the first records have, or None when they are not plays of any kind."""
    sample = [set(record) for record in records[:SHAPE_SAMPLE] if isinstance(record, dict)]
    counts = {shape: sum(shape.record_keys <= keys for keys in sample) for shape in SHAPES}
    best = max(counts, key=lambda shape: counts[shape])
    return best if counts[best] * 2 > len(records[:SHAPE_SAMPLE]) else None


def history_kind(file_name: str, records: list) -> HistoryKind | None:
    """The file's kind: its records' shape decides (a renamed file still imports), its name only tells video
    from audio, which share one shape."""
    shape = kind_by_shape(records)
    named = kind_by_name(file_name)
    if shape is EXTENDED_AUDIO and named is EXTENDED_VIDEO:
        return EXTENDED_VIDEO
    return shape
