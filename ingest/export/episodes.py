"""Podcast episodes listed as music in a classic export: found by the shows the export names, and said at import.

Spotify's classic music file before 2023 (``StreamingHistory<N>.json``) lists the podcast episodes a listener played
among the songs: the show in ``artistName``, the episode in ``trackName``. Nothing in such a record tells it from a
song, but an export names its listener's shows elsewhere: the extended history's ``episode_show_name``, the classic
podcast file's ``podcastName``, ``YourLibrary.json``'s ``shows``. A classic music record whose artist is one of them
is very likely an episode. Such records still load as music plays (docs/privacy-exports.md); the import says how
many each file holds, so the count is never silent.
"""

from collections import Counter
from collections.abc import Iterable, Mapping

from ingest.export.kinds import CLASSIC_MUSIC, CLASSIC_PODCAST, EXTENDED_AUDIO, EXTENDED_VIDEO, HistoryKind

# The field naming a record's show (the artist, for a classic music file), per kind of history file.
NAME_FIELDS = {
    CLASSIC_MUSIC.kind: "artistName",
    CLASSIC_PODCAST.kind: "podcastName",
    EXTENDED_AUDIO.kind: "episode_show_name",
    EXTENDED_VIDEO.kind: "episode_show_name",
}
LIBRARY_SHOWS = "shows"  # YourLibrary.json: {"shows": [{"name": …, "publisher": …, "uri": …}], "tracks": …}
EXAMPLES = 2  # shows named in a file's note, the most played first


def names_in(kind: HistoryKind, records: list) -> Counter[str]:
    """Records per name: a classic music file's artists, the shows the other kinds' records name."""
    field = NAME_FIELDS.get(kind.kind)
    if field is None:
        return Counter()
    return Counter(
        name for record in records if isinstance(record, dict) and isinstance(name := record.get(field), str) and name
    )


def library_shows(value: object) -> Counter[str]:
    """The shows a library file (``YourLibrary.json``'s shape) names; none for any other JSON value."""
    shows = value.get(LIBRARY_SHOWS) if isinstance(value, dict) else None
    if not isinstance(shows, list):
        return Counter()
    return Counter(show["name"] for show in shows if isinstance(show, dict) and isinstance(show.get("name"), str))


def episodes_note(artists: Mapping[str, int], records: int, shows: Iterable[str]) -> str:
    """What to say about a classic music file whose artists include shows of the export; empty when none do."""
    named = set(shows)
    episodes = Counter({artist: count for artist, count in artists.items() if artist in named})
    if not episodes:
        return ""
    examples = ", ".join(f'"{show}"' for show, _ in episodes.most_common(EXAMPLES))
    return (
        f"{episodes.total():,} of its {records:,} records look like podcast episodes: their artist is one of "
        f"{len(episodes)} shows this export names elsewhere (the most played: {examples}); they load as music plays "
        "(docs/privacy-exports.md)"
    )
