"""``import-history`` without a server: formats, checksum no-op, personal fields, bad files, kill -9."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import orjson
from conftest import EXPORTS

from ingest.config import Settings
from ingest.export.importer import export_landing_dir, import_history
from ingest.landing.store import landed_files
from ingest.spotify.users import pseudonymous_user_id
from tests.integration.ingest_exports import extended_record, podcast_record, write_classic, write_extended

REPO = Path(__file__).resolve().parents[2]


def settings_at(tmp_path: Path) -> Settings:
    return Settings(project_dir=REPO, data_dir=tmp_path / "data")


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "spotify_analytics", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def landed(settings: Settings) -> list[Path]:
    return sorted(export_landing_dir(settings, pseudonymous_user_id(settings)).rglob("*.json"))


def test_formats_zip_checksum_and_personal_fields(tmp_path):
    export = tmp_path / "export"
    write_extended(export, 0, [extended_record(i) for i in range(20)] + [podcast_record(99)])
    write_classic(export, 0, [{"endTime": "2024-03-01 09:00", "artistName": "A", "trackName": "T", "msPlayed": 1}])
    archive = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in export.iterdir():
            zipped.write(path, f"Spotify Extended Streaming History/{path.name}")
    settings = settings_at(tmp_path)

    first = import_history([archive], settings)
    assert (len(first.having("imported")), first.records, first.having("refused")) == (2, 22, [])
    again = import_history([export], settings)  # same bytes from the folder: a no-op
    assert (again.having("imported"), len(again.having("already_imported"))) == ([], 2)
    files = landed(settings)
    assert [p.parent.name for p in files] == ["classic", "extended"]
    text = b"".join(p.read_bytes() for p in files)
    for personal in (b"ip_addr", b"user_agent", b"username", b"10.1.2.3", b"real-user-name"):
        assert personal not in text
    record = orjson.loads(files[1].read_bytes())["records"][0]
    for kept in ("reason_start", "reason_end", "skipped", "shuffle", "offline", "platform"):
        assert kept in record
    assert oct(files[0].stat().st_mode & 0o777) == "0o644"


def test_bad_files_are_refused_by_name_and_good_ones_import(tmp_path):
    export = tmp_path / "export"
    good = write_extended(export, 0, [extended_record(i) for i in range(3)])
    (export / "Streaming_History_Audio_2024_1.json").write_text(orjson.dumps([extended_record(5)]).decode()[:-40])
    (export / "Streaming_History_Audio_2024_2.json").write_text('{"ts": "2024-01-01T00:00:00Z"}')
    (export / "StreamingHistory_music_3.json").write_bytes(b'[{"artistName": "Caf\xe9"}]')
    done = cli(tmp_path, "import-history", str(export))
    assert done.returncode == 1
    assert "1 files imported (3 records)" in done.stdout and "3 refused" in done.stdout
    assert "Streaming_History_Audio_2024_1.json: not valid JSON, truncated or corrupt" in done.stderr
    assert "Streaming_History_Audio_2024_2.json: expected a JSON list of plays, found an object" in done.stderr
    assert "StreamingHistory_music_3.json: not UTF-8 text (byte 0xe9 at offset 20 is invalid)" in done.stderr
    assert len(landed(settings_at(tmp_path))) == 1 and good.exists()
    missing = cli(tmp_path, "import-history", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr


def test_kill_9_during_import_then_rerun_lands_every_file_once(tmp_path):
    export = tmp_path / "export"
    files = 40
    for n in range(files):
        write_extended(export, n, [extended_record(n * 2000 + i) for i in range(2000)])
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-m", "spotify_analytics", "import-history", str(export)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    settings = settings_at(tmp_path)
    deadline = time.monotonic() + 60
    while len(landed(settings)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = len(landed(settings))
    assert 0 < before < files, "the kill came too late to interrupt the import"
    rerun = cli(tmp_path, "import-history", str(export))
    assert rerun.returncode == 0, rerun.stderr
    assert f"{files - before} files imported" in rerun.stdout, rerun.stdout
    paths = landed(settings)
    assert len(paths) == files
    assert sum(len(orjson.loads(p.read_bytes())["records"]) for p in paths) == files * 2000
    # A file being written when the kill came may be left as a hidden temp file, never as a landed one: loads
    # read only landed names.
    assert landed_files(paths[0].parent) == paths


# ---------------------------------------------------------------- every file an export holds

CLASSIC_MUSIC = [{"endTime": "2024-03-01 09:00", "artistName": "A", "trackName": "T", "msPlayed": 1000}]
CLASSIC_PODCAST = [{"endTime": "2024-03-01 09:00", "podcastName": "Show", "episodeName": "Ep 1", "msPlayed": 5000}]
CLASSIC_AUDIOBOOK = [
    {"endTime": "2024-03-01 09:00", "audiobookName": "Book", "chapterName": "One", "authorName": "X", "msPlayed": 9}
]
HISTORY_FILES = {  # every name Spotify has used, and a renamed file: name -> (records, kind label)
    "Spotify Account Data/StreamingHistory0.json": (CLASSIC_MUSIC, "classic music"),
    "Spotify Account Data/StreamingHistory_music_1.json": (CLASSIC_MUSIC * 2, "classic music"),
    "Spotify Account Data/StreamingHistory_podcast_0.json": (CLASSIC_PODCAST, "classic podcast"),
    "Spotify Account Data/StreamingHistory_audiobook_0.json": (CLASSIC_AUDIOBOOK, "classic audiobook"),
    "Spotify Extended Streaming History/endsong.json": ([extended_record(1)], "extended audio"),
    "Spotify Extended Streaming History/endsong_3.json": ([extended_record(2)], "extended audio"),
    "Spotify Extended Streaming History/Streaming_History_Audio_2024_2.json": ([extended_record(3)], "extended audio"),
    "Spotify Extended Streaming History/Streaming_History_Audio_2015-2018_0.json": (
        [extended_record(4)],
        "extended audio",
    ),
    "Spotify Extended Streaming History/Streaming_History_Audio_2026.json": ([extended_record(5)], "extended audio"),
    "Spotify Extended Streaming History/Streaming_History_Video_2024.json": ([extended_record(6)], "extended video"),
    "my history (copy).json": ([extended_record(7), podcast_record(8)], "extended audio"),
}
NOT_HISTORY = {  # the rest of an export, personal data among it
    "Spotify Account Data/Userdata.json": {"username": "real-user-name", "email": "someone@example.org"},
    "Spotify Account Data/Identity.json": {"displayName": "Someone", "birthdate": "1990-01-01"},
    "Spotify Account Data/YourLibrary.json": {"tracks": [{"artist": "A", "track": "T"}]},
    "Spotify Account Data/Playlist1.json": {"playlists": []},
    "Spotify Account Data/SearchQueries.json": [{"searchTime": "2024-01-01", "searchQuery": "secret search"}],
    "Spotify Account Data/Wrapped2023.json": {"topArtists": []},
    "Spotify Account Data/Payments.json": {"card_number": "**** 1234"},
}


def write_export(root: Path) -> None:
    for name, (records, _) in HISTORY_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(orjson.dumps(records).decode())
    for name, content in NOT_HISTORY.items():
        (root / name).write_text(orjson.dumps(content).decode())
    (root / "Spotify Account Data/Read_Me_First.pdf").write_bytes(b"%PDF-1.4 not history")


def test_every_history_file_imports_as_its_kind_and_the_rest_is_listed_not_read(tmp_path):
    export = tmp_path / "my_spotify_data"
    write_export(export)
    archive = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                zipped.write(path, str(path.relative_to(tmp_path)))

    done = cli(tmp_path, "import-history", str(archive))

    assert done.returncode == 0, done.stdout + done.stderr
    assert "import-history: 11 files imported (13 records), 0 already imported, 8 skipped, 0 refused." in done.stdout
    for line in (
        "classic music: 2 imported (3 records)",
        "classic podcast: 1 imported (1 records)",
        "classic audiobook: 1 imported (1 records)",
        "extended audio: 6 imported (7 records)",
        "extended video: 1 imported (1 records)",
    ):
        assert line in done.stdout
    [skipped] = [line for line in done.stdout.splitlines() if "skipped, not listening history" in line]
    for name in [*NOT_HISTORY, "Read_Me_First.pdf"]:
        assert Path(name).name in skipped
    settings = settings_at(tmp_path)
    kinds = sorted(p.parent.name for p in landed(settings))
    assert kinds == ["classic", "classic", "classic_audiobook", "classic_podcast", *["extended"] * 6, "extended_video"]
    landed_text = b"".join(p.read_bytes() for p in landed(settings))
    for private in (b"someone@example.org", b"1990-01-01", b"secret search", b"1234", b"real-user-name"):
        assert private not in landed_text
    again = cli(tmp_path, "import-history", str(export))  # the unzipped folder: the same files
    assert again.returncode == 0, again.stderr
    assert "0 files imported (0 records), 11 already imported, 8 skipped, 0 refused." in again.stdout


def test_a_path_without_listening_history_exits_non_zero_and_says_so(tmp_path):
    account = tmp_path / "Spotify Account Data"
    account.mkdir()
    (account / "Userdata.json").write_text('{"email": "someone@example.org"}')
    (account / "YourLibrary.json").write_text('{"tracks": []}')

    done = cli(tmp_path, "import-history", str(account))

    assert done.returncode == 1
    assert f"error: {account} holds no listening history" in done.stderr
    assert "skipped, not listening history: Userdata.json, YourLibrary.json" in done.stdout
    assert not (tmp_path / "data" / "landing").exists()


def bad_zip_member(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("../escape.json", orjson.dumps([extended_record(50)]).decode())
        zipped.writestr("Spotify Extended Streaming History/Streaming_History_Audio_2020_0.json",
                        orjson.dumps([extended_record(51), extended_record(52)]).decode())  # fmt: skip
    return path


def test_bad_files_are_named_and_every_valid_file_still_imports(tmp_path):
    export = tmp_path / "export"
    good = write_extended(export, 0, [extended_record(i) for i in range(3)])
    records = orjson.dumps(CLASSIC_MUSIC).decode()
    files = {
        "StreamingHistory_music_5.json": '[{"endTime": "2024-03-01 09:00", "artistName": "Café"}]'.encode("latin-1"),
        "StreamingHistory_music_6.json": records.encode("utf-16"),  # with a byte-order mark
        "StreamingHistory_music_7.json": b"\xef\xbb\xbf" + records.encode(),  # UTF-8 with a byte-order mark
        "Streaming_History_Audio_2024_1.json": orjson.dumps([extended_record(5)])[:-40],  # truncated
        "Streaming_History_Audio_2024_2.json": b'{"ts": "2024-01-01T00:00:00Z"}',  # an object, not a list
        "Streaming_History_Audio_2024_3.json": b'["2024-01-01", "a song"]',  # a list of strings
        "Streaming_History_Audio_2024_4.json": b"",  # 0 bytes
        "StreamingHistory_podcast_0.json": b"[]",  # an empty list: no podcasts (Spotify writes these)
        "empty.zip": b"",
        "corrupt.zip": b"PK\x03\x04 this is not really a zip archive",
    }
    for name, content in files.items():
        (export / name).write_bytes(content)
    bad_zip_member(export / "escaping.zip")
    outside = tmp_path / "outside.json"
    outside.write_text(orjson.dumps([extended_record(60)]).decode())
    (export / "Streaming_History_Audio_2024_9.json").symlink_to(outside)

    done = cli(tmp_path, "import-history", str(export))

    assert done.returncode == 1
    refused = dict(line.split(": ", 2)[1:] for line in done.stderr.splitlines() if line.startswith("refused: "))
    named = {name.split("/")[-1]: reason for name, reason in refused.items()}
    assert named["StreamingHistory_music_5.json"].startswith("not UTF-8 text (byte 0xe9 at offset 51 is invalid)")
    assert named["Streaming_History_Audio_2024_1.json"].startswith("not valid JSON, truncated or corrupt")
    assert named["Streaming_History_Audio_2024_2.json"] == "expected a JSON list of plays, found an object"
    assert named["Streaming_History_Audio_2024_3.json"] == (
        "its records are not plays (the first record is a str, not an object)"
    )
    assert named["Streaming_History_Audio_2024_4.json"] == "empty file (0 bytes)"
    assert named["empty.zip"].startswith("not a readable zip archive")
    assert named["corrupt.zip"].startswith("not a readable zip archive")
    assert refused[f"{export / 'escaping.zip'}!../escape.json"] == "its path leaves the archive's folder: not read"
    assert named["Streaming_History_Audio_2024_9.json"] == f"a symlink to {outside}, outside {export}: not followed"
    assert len(refused) == 9
    assert "skipped, holds no plays (an empty list): StreamingHistory_podcast_0.json" in done.stdout
    assert "StreamingHistory_music_6.json: read as UTF-16, not plain UTF-8" in done.stdout
    assert "StreamingHistory_music_7.json: read as UTF-8 with a byte-order mark, not plain UTF-8" in done.stdout
    assert "import-history: 4 files imported (7 records)" in done.stdout  # good, UTF-16, BOM, the zip's valid member
    assert good.exists() and len(landed(settings_at(tmp_path))) == 4


def test_an_unreadable_file_is_refused_and_the_files_after_it_import(tmp_path):
    export = tmp_path / "export"
    unreadable = write_extended(export, 0, [extended_record(1)])
    write_extended(export, 1, [extended_record(2), extended_record(3)])
    unreadable.chmod(0o000)
    # root reads any file: as root, the import runs without the capabilities that bypass file permissions
    without_override = ["dac_override", "dac_read_search"]
    drop = ",".join(f"-{capability}" for capability in without_override)
    as_user = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}"] if os.geteuid() == 0 else []
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data")}
    try:
        done = subprocess.run(
            [*as_user, sys.executable, "-m", "spotify_analytics", "import-history", str(export)],
            cwd=REPO, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        unreadable.chmod(0o644)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"refused: {unreadable}: cannot be read: permission denied" in done.stderr
    assert "extended audio: 1 imported (2 records), 0 already imported, 0 skipped, 1 refused" in done.stdout


def shows_and_artists(folder: Path) -> tuple[set[str], Counter[str]]:
    """Read here from the export's JSON files, apart from the importer: the shows the export names (extended
    episodes' ``episode_show_name``, classic podcast files' ``podcastName``, ``YourLibrary.json``'s ``shows``) and
    the classic music files' records per artist."""
    shows: set[str] = set()
    artists: Counter[str] = Counter()
    for path in sorted(folder.glob("*.json")):
        value = json.loads(path.read_text())
        if path.name == "YourLibrary.json":
            shows |= {show["name"] for show in value["shows"]}
        elif path.name.startswith(("endsong", "Streaming_History_")):
            shows |= {record["episode_show_name"] for record in value if record.get("episode_show_name")}
        elif path.name.startswith("StreamingHistory_podcast_"):
            shows |= {record["podcastName"] for record in value}
        elif re.fullmatch(r"StreamingHistory(_music_)?\d+\.json", path.name):
            artists.update(record["artistName"] for record in value)
    return shows, artists


def test_podcast_episodes_in_an_old_classic_music_file_are_counted_and_said(tmp_path):
    """nate-downer's StreamingHistory0.json (before 2023) lists podcast episodes as music, the show as the artist;
    the import says how many of its records are episodes of shows the same export names. erin's 2023+ music files
    hold none, and their import says nothing of the kind."""
    nate = EXPORTS / "nate-downer__spotify-analysis"
    shows, artists = shows_and_artists(nate)
    episodes = sum(count for artist, count in artists.items() if artist in shows)
    played_shows = sum(1 for artist in artists if artist in shows)
    assert (episodes, played_shows, artists.total()) == (366, 12, 4508)

    done = cli(tmp_path, "import-history", "--user", "nate", str(nate))

    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"  note: {nate / 'StreamingHistory0.json'}: 366 of its 4,508 records look like podcast episodes: their "
        "artist is one of 12 shows this export names elsewhere (the most played: "
    ) in done.stdout, done.stdout
    assert "they load as music plays (docs/privacy-exports.md)" in done.stdout

    erin = EXPORTS / "hobbies-w-erin__Spotify-Account-Data"
    shows, artists = shows_and_artists(erin)
    assert shows and artists.total() > 0 and not shows & set(artists)
    quiet = cli(tmp_path, "import-history", "--user", "erin", str(erin))
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "look like podcast episodes" not in quiet.stdout + quiet.stderr
