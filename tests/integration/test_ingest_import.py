"""``import-history`` without a server: formats, checksum no-op, personal fields, bad files, kill -9."""

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import orjson

from ingest.config import Settings
from ingest.export.importer import export_landing_dir, import_history
from ingest.spotify.users import pseudonymous_user_id
from tests.integration.ingest_exports import extended_record, podcast_record, write_classic, write_extended

REPO = Path(__file__).resolve().parents[2]


def settings_at(tmp_path: Path) -> Settings:
    return Settings(project_dir=REPO, data_dir=tmp_path / "data")


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROJECT_DIR": str(REPO), "DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
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
    assert (len(first.imported), first.records, first.failed) == (2, 22, {})
    again = import_history([export], settings)  # same bytes from the folder: a no-op
    assert (again.imported, len(again.already_imported)) == ([], 2)
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
    assert "Streaming_History_Audio_2024_2.json: expected a JSON list of plays at the top level, found dict" in (
        done.stderr
    )
    assert "StreamingHistory_music_3.json: not UTF-8 text (invalid byte at offset 20)" in done.stderr
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
        [sys.executable, "-m", "ingest", "import-history", str(export)],
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
    assert not [p for p in paths[0].parent.iterdir() if p.name.startswith(".")]  # no temp file became visible
