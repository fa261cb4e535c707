"""Real Spotify privacy exports, end to end: every folder of the shared real exports (``SPOTIFY_EXPORTS_DIR``, by
default ``<SHARED_DATA_DIR>/spotify_exports``) is imported as one listener, then
``python -m spotify_analytics pipeline`` runs as cron runs it, with the real Kaggle sample as the catalog (the
session's ``real_exports_run``, which test_scheduled_runs shares).

The counts Bronze must hold are computed here from the raw files, independently of the importer: music plays
(audio and video), podcast episodes, audiobook chapters, records that are none of them, and the duplicates that
collapse (the same play listed twice). Silver holds one row per real play: the one listener whose classic and
extended exports overlap (nate-downer, 2021-08 to 2022-08) has fewer Silver rows than Bronze rows by the plays both
list, found here by a matcher of its own over the JSON files (``overlap``). A second import and load change
nothing; the report has one page per listener and every section of every page renders in headless Chromium.
"""

import json
import re
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from browser import REPORT_SECTIONS, inspect_page, require_chromium
from conftest import EXIT_POLL_FAILED, EXPORTS, Lakehouse, ScheduledRun

TRACK_URI = re.compile(r"spotify:track:[0-9A-Za-z]+")
USER_CHARTS = {"heatmap", "top-artists", "top-tracks", "weekly-indicators", "mood-over-time", "mood-clusters"}
NONE_OF_THEM = "neither a track, an episode nor an audiobook chapter"


@dataclass
class Expected:
    """What one export folder holds, counted from its files: distinct plays per kind and what is left over."""

    records: int = 0
    plays: dict[str, set] = field(default_factory=lambda: {k: set() for k in ("music", "video", "podcast", "book")})
    no_play: int = 0  # records that are neither a track, an episode nor an audiobook chapter
    other_files: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return len(self.plays[kind])

    @property
    def duplicates(self) -> int:
        return self.records - self.no_play - sum(len(keys) for keys in self.plays.values())


def count_extended(expected: Expected, records: list[dict], video: bool) -> None:
    for r in records:
        episode = r.get("spotify_episode_uri") or r.get("episode_name")
        book = r.get("audiobook_chapter_uri") or r.get("audiobook_title") or r.get("audiobook_uri")
        uri = r.get("spotify_track_uri") or ""
        named = r.get("master_metadata_album_artist_name") and r.get("master_metadata_track_name")
        if episode:
            what = r.get("spotify_episode_uri") or (r.get("episode_show_name"), r.get("episode_name"))
            expected.plays["podcast"].add((r["ts"], what))
        elif book:
            expected.plays["book"].add(
                (r["ts"], r.get("audiobook_chapter_uri") or (book, r["audiobook_chapter_title"]))
            )
        elif TRACK_URI.fullmatch(uri) or named:
            what = (
                uri
                if TRACK_URI.fullmatch(uri)
                else (r["master_metadata_album_artist_name"], r["master_metadata_track_name"])
            )
            expected.plays["video" if video else "music"].add((r["ts"], what))
        else:
            expected.no_play += 1


def count_folder(folder: Path) -> Expected:
    expected = Expected()
    for path in sorted(folder.iterdir()):
        name = path.name
        if not name.startswith(("StreamingHistory", "Streaming_History_", "endsong")):
            expected.other_files.append(name)
            continue
        records = json.loads(path.read_text(encoding="utf-8"))
        expected.records += len(records)
        if name.startswith("StreamingHistory_podcast"):
            expected.plays["podcast"] |= {
                (r["endTime"], r["podcastName"], r["episodeName"], r["msPlayed"]) for r in records
            }
        elif name.startswith("StreamingHistory_audiobook"):
            expected.plays["book"] |= {
                (r["endTime"], r["audiobookName"], r["chapterName"], r["msPlayed"]) for r in records
            }
        elif name.startswith("StreamingHistory"):
            expected.plays["music"] |= {(r["endTime"], r["artistName"], r["trackName"], r["msPlayed"]) for r in records}
        else:
            count_extended(expected, records, video=name.startswith("Streaming_History_Video"))
    return expected


@dataclass(frozen=True)
class Overlap:
    """A listener's classic and extended music plays, how many extended plays fall within the classic export's
    time span, and how many plays both exports list."""

    classic: int
    extended: int
    extended_in_classic_span: int
    both: int


def overlap(folder: Path) -> Overlap:
    """The plays a folder's classic and extended exports both list, matched here as docs/data-model.md describes the
    rule, by a route of its own: every (extended, classic) pair of the same artist and title whose ts lies -10 to
    +90 s from the classic endTime (the play_match_* defaults) is a candidate; pairs are accepted greedily,
    cheapest first (equal ms_played first, then the ts nearest the middle of the endTime's minute), each play in
    one pair at most. Plays are distinct as Bronze keys them (extended: ts and track URI, else artist and title;
    classic: endTime, artist, title, ms_played). The names agree byte for byte in this export, so they are not
    normalised here."""
    extended: dict[tuple, dict] = {}
    classic: dict[tuple, dict] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("StreamingHistory") and not path.name.startswith(
            ("StreamingHistory_p", "StreamingHistory_a")
        ):
            for r in json.loads(path.read_text(encoding="utf-8")):
                end = datetime.strptime(r["endTime"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC).timestamp()
                key = (r["endTime"], r["artistName"], r["trackName"], r["msPlayed"])
                classic.setdefault(key, {"at": end, "names": key[1:3], "ms": r["msPlayed"]})
        elif path.name.startswith(("endsong", "Streaming_History_Audio")):
            for r in json.loads(path.read_text(encoding="utf-8")):
                uri, names = (
                    r.get("spotify_track_uri") or "",
                    (r.get("master_metadata_album_artist_name"), r.get("master_metadata_track_name")),
                )
                if (
                    r.get("spotify_episode_uri")
                    or r.get("episode_name")
                    or not (TRACK_URI.fullmatch(uri) or all(names))
                ):
                    continue
                ended = datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp()
                extended.setdefault((r["ts"], uri or names), {"at": ended, "names": names, "ms": r["ms_played"]})
    if not classic or not extended:
        return Overlap(len(classic), len(extended), 0, 0)
    by_names = defaultdict(list)
    for number, play in enumerate(classic.values()):
        by_names[play["names"]].append((number, play))
    candidates = []
    for number, play in enumerate(extended.values()):
        for other, old in by_names.get(play["names"], []):
            offset = play["at"] - old["at"]
            if -10 <= offset <= 90:
                candidates.append((play["ms"] != old["ms"], abs(offset - 30), number, other))
    paired_extended, paired_classic = set(), set()
    for *_, number, other in sorted(candidates):
        if number not in paired_extended and other not in paired_classic:
            paired_extended.add(number)
            paired_classic.add(other)
    first = min(play["at"] for play in classic.values())
    last = max(play["at"] for play in classic.values()) + 60
    in_span = sum(first <= play["at"] < last for play in extended.values())
    return Overlap(len(classic), len(extended), in_span, len(paired_extended))


@pytest.fixture(scope="module")
def folders(real_exports_run: ScheduledRun) -> list[Path]:
    return real_exports_run.folders


@pytest.fixture(scope="module")
def imported(real_exports_run: ScheduledRun) -> dict[str, str]:
    """Each folder imported as the listener named after it: folder name -> user_id."""
    return real_exports_run.users


@pytest.fixture(scope="module")
def pipeline(real_exports_run: ScheduledRun) -> subprocess.CompletedProcess[str]:
    """The scheduled run that built the lakehouse from the imported exports. Its polls fail by design (the
    fixture points them at an unreachable API), so it ends with the exit code for "built, but some polls failed"."""
    result = real_exports_run.first
    assert result.returncode == EXIT_POLL_FAILED, result.stdout[-6000:] + result.stderr[-6000:]
    return result


def bronze_counts(lakehouse: Lakehouse, user_id: str) -> dict[str, int]:
    [music] = lakehouse.sql(
        "select count_if(media_type = 'audio') as audio, count_if(media_type = 'video') as video, "
        "count(*) - count(distinct play_id) as repeated "
        f"from bronze.listening_history_bronze where user_id = '{user_id}'"
    )
    [spoken] = lakehouse.sql(
        f"select (select count(*) from bronze.podcast_history_bronze where user_id = '{user_id}') as podcast, "
        f"(select count(*) from bronze.audiobook_history_bronze where user_id = '{user_id}') as book"
    )
    return {"music": music.audio, "video": music.video, "podcast": spoken.podcast, "book": spoken.book,
            "repeated": music.repeated}  # fmt: skip


def quarantine_reasons(lakehouse: Lakehouse, user_id: str) -> Counter[str]:
    rows = lakehouse.sql(
        f"select reason from bronze.listening_history_quarantine where landing_file like 'export/{user_id}/%'"
    )
    return Counter(row.reason.split(":")[0] for row in rows)


def test_bronze_holds_every_play_of_every_kind_once(lakehouse: Lakehouse, folders, imported, pipeline) -> None:
    for folder in folders:
        expected, user_id = count_folder(folder), imported[folder.name]
        counts = bronze_counts(lakehouse, user_id)
        assert counts == {
            "music": expected.count("music"), "video": expected.count("video"), "podcast": expected.count("podcast"),
            "book": expected.count("book"), "repeated": 0,
        }, folder.name  # fmt: skip
        assert quarantine_reasons(lakehouse, user_id) == (
            Counter({NONE_OF_THEM: expected.no_play}) if expected.no_play else Counter()
        ), folder.name
    # what the README of the exports says of them, as a check on the independent count itself
    mica = count_folder(EXPORTS / "mica-92__in-summation")  # 9 tracks and 1 episode listed twice
    assert (mica.records, mica.count("podcast"), mica.duplicates) == (3328, 314, 10)
    nate = count_folder(EXPORTS / "nate-downer__spotify-analysis")
    assert (nate.no_play, nate.other_files) == (3, ["YourLibrary.json"])
    assert count_folder(EXPORTS / "Khushi-203006__Spotify_Data_Analysis_Project").count("video") == 43
    assert count_folder(EXPORTS / "hobbies-w-erin__Spotify-Account-Data").count("book") == 11


def test_silver_and_gold_are_built_for_every_listener(lakehouse: Lakehouse, folders, imported, pipeline) -> None:
    for folder in folders:
        expected, user_id = count_folder(folder), imported[folder.name]
        [silver] = lakehouse.sql(
            f"select count(*) as plays from silver.listening_with_features where user_id = '{user_id}'"
        )
        reconciled = overlap(folder).both  # plays both the classic and the extended export list: one row
        assert silver.plays == expected.count("music") + expected.count("video") - reconciled, folder.name
        [gold] = lakehouse.sql(
            "select count(*) as weeks, sum(plays) as plays, sum(podcast_plays) as podcasts, "
            "sum(audiobook_plays) as books, min(feature_coverage_plays) >= 0 as coverage_known "
            f"from gold.wellbeing_indicators where user_id = '{user_id}' and period_type = 'week'"
        )
        assert gold.plays == silver.plays and gold.weeks > 0, folder.name
        assert (gold.podcasts, gold.books) == (expected.count("podcast"), expected.count("book")), folder.name
        [cells] = lakehouse.sql(f"select count(*) as n from gold.temporal_patterns where user_id = '{user_id}'")
        assert cells.n > 0, folder.name


def test_the_overlapping_exports_are_one_play_per_real_play(lakehouse: Lakehouse, imported, pipeline) -> None:
    """nate-downer's classic export (one year) and a third of their extended export overlap from 2021-08 to
    2022-08: 4,508 classic plays, 679 extended plays in the classic export's span, 603 of them in both."""
    folder = EXPORTS / "nate-downer__spotify-analysis"
    found = overlap(folder)
    assert (found.classic, found.extended_in_classic_span, found.both) == (4508, 679, 603)
    user_id = imported[folder.name]
    rows = lakehouse.sql(
        "select seen_in, count(*) as plays, count_if(size(source_play_ids) = size(seen_in)) as one_each "
        f"from silver.listening_with_features where user_id = '{user_id}' group by seen_in"
    )
    assert {tuple(row.seen_in): (row.plays, row.one_each) for row in rows} == {
        ("export_extended",): (found.extended - found.both,) * 2,
        ("export_classic",): (found.classic - found.both,) * 2,
        ("export_extended", "export_classic"): (found.both,) * 2,
    }
    [gold] = lakehouse.sql(
        f"select sum(plays) as plays from gold.wellbeing_indicators where user_id = '{user_id}' and period_type = 'day'"
    )
    assert gold.plays == found.extended + found.classic - found.both  # each real play counted once


def test_feature_coverage_is_measured_per_listener_and_warns(lakehouse: Lakehouse, imported, pipeline) -> None:
    assert "validate_silver    ok" in pipeline.stdout
    rows = lakehouse.sql(
        "select user_id, expectation_id, severity, observed_number from quality.validation_results "
        "where expectation_id in ('coverage.listener_plays', 'coverage.listener_minutes') "
        "and run_id = (select max(run_id) from quality.validation_results where layer = 'silver')"
    )
    observed = {(row.user_id, row.expectation_id): row.observed_number for row in rows}
    classic = imported["hobbies-w-erin__Spotify-Account-Data"]  # classic export: few plays resolve to a track
    assert observed[(classic, "coverage.listener_minutes")] < 0.05
    assert {row.severity for row in rows} == {"warning"}
    assert {user for user, _ in observed} >= set(imported.values())


def test_importing_and_loading_again_changes_nothing(lakehouse: Lakehouse, folders, imported, pipeline) -> None:
    before = {user_id: bronze_counts(lakehouse, user_id) for user_id in imported.values()}
    versions = {
        table: lakehouse.sql(f"describe history bronze.{table} limit 1")[0].version
        for table in ("listening_history_bronze", "podcast_history_bronze", "audiobook_history_bronze")
    }
    for folder in folders:
        again = lakehouse.cli("import-history", "--user", folder.name, str(folder))
        assert again.returncode == 0 and "0 files imported (0 records)" in again.stdout, again.stdout
    loaded = lakehouse.cli("load", "all")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "0 landing files; bronze.listening_history_bronze: nothing new" in loaded.stdout
    assert {user_id: bronze_counts(lakehouse, user_id) for user_id in imported.values()} == before
    for table, version in versions.items():
        assert lakehouse.sql(f"describe history bronze.{table} limit 1")[0].version == version, table


def test_the_report_has_a_page_per_listener_and_every_section_renders(
    lakehouse: Lakehouse, imported, pipeline, tmp_path: Path
) -> None:
    require_chromium()
    reports = lakehouse.settings.data_path / "reports"
    for folder, user_id in imported.items():
        page = reports / f"user-{user_id}.html"
        seen = inspect_page(page, tmp_path / f"profile-{user_id}", tmp_path / f"{user_id}.png")
        assert seen["errors"] == [], folder
        assert {chart["name"] for chart in seen["charts"]} >= USER_CHARTS, folder
        assert all(chart["drawn"] > 0 for chart in seen["charts"]), folder
        for heading in REPORT_SECTIONS:
            assert heading in seen["text"], (folder, heading)
    classic = (reports / f"user-{imported['hobbies-w-erin__Spotify-Account-Data']}.html").read_text()
    assert 'data-note="little-data"' in classic  # 1% of its listening time has features: mood charts greyed out
    assert "minutes of podcasts and" in classic and "minutes of audiobooks" in classic
    khushi = (reports / f"user-{imported['Khushi-203006__Spotify_Data_Analysis_Project']}.html").read_text()
    assert 'data-note="little-data"' not in khushi
    index = (reports / "index.html").read_text()
    assert all(f"user-{user_id}.html" in index for user_id in imported.values())
