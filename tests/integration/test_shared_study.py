"""The study instrument on the session's real-exports lakehouse (``real_exports_run``: the four real export folders
imported as four listeners and built by a scheduled pipeline run): ``participants list``, ``history`` and
``restore`` after a bad import that reached Silver, ``participants withdraw`` killed midway and run again,
``export-dataset`` opened with pandas and DuckDB, and the ``spotify-analytics`` console script.

The module sorts after test_real_exports and test_scheduled_runs (which check that run) and before
test_silver_gold (which replaces Bronze), so it pays for no pipeline run of its own. It leaves the lakehouse with
one listener fewer (withdrawn) and Bronze's plays as the pipeline left them (the bad import is restored away).

Expected counts come from the raw files (the bad import's plays), from SQL by ``user_id`` (a second route beside
the withdrawal's search of every text column), or from the files written (the export's manifest against the
files themselves).
"""

import csv
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import EXIT_POLL_FAILED, EXPORTS, REPO, Lakehouse, ScheduledRun, run_command

from ingest.spotify.auth import authorize
from ingest.spotify.poll import poll
from ingest.spotify.users import pseudonymous_user_id
from spotify_analytics.pipeline.lock import pipeline_lock
from tests.integration.fake_spotify import FakeSpotify, track_object

SCRIPT = str(Path(sys.executable).parent / "spotify-analytics")
WITHDRAWN = "mica-92__in-summation"  # one real export file; the listener polled through the fake API too
BAD_IMPORT = EXPORTS / "Khushi-203006__Spotify_Data_Analysis_Project" / "Streaming_History_Video_2024.json"
BAD_IMPORT_AS = "hobbies-w-erin__Spotify-Account-Data"  # another listener's file imported under this one
PLAYS = "bronze.listening_history_bronze"
PODCASTS = "bronze.podcast_history_bronze"
SILVER = "silver.listening_with_features"
API_PLAYS = 30
PLAY_ID = re.compile(rb"[0-9a-f]{64}")
STEP_TIMEOUT = 900.0


def cli(house: Lakehouse, *args: str, timeout: float = STEP_TIMEOUT, **env: str) -> subprocess.CompletedProcess[str]:
    """The console script, as a study team types it."""
    return run_command([SCRIPT, *args], {**house.env, **env}, timeout)


def count(house: Lakehouse, query: str) -> int:
    return int(house.sql(query)[0][0])


def latest_version(house: Lakehouse, table: str) -> int:
    return int(house.sql(f"describe history {table} limit 1")[0].version)


@pytest.fixture(scope="module")
def study(lakehouse: Lakehouse, real_exports_run: ScheduledRun) -> Lakehouse:
    assert real_exports_run.first.returncode == EXIT_POLL_FAILED, real_exports_run.first.stdout[-3000:]
    return lakehouse


# ---------------------------------------------------------------- the console script, list


def test_the_console_script_is_the_cli_and_goes_through_faults_run(study: Lakehouse, tmp_path: Path) -> None:
    """``spotify-analytics`` and ``python -m spotify_analytics`` print the same help; both end a command whose
    deadline passed with the watchdog's one line, which only ``faults.run`` arms (an export parses the dbt
    project for seconds after it connects: past a deadline of a millisecond)."""
    script, module = cli(study, "--help"), study.cli("--help")
    assert script.returncode == module.returncode == 0
    assert "participants" in script.stdout and "export-dataset" in script.stdout
    words = [" ".join(output.replace(name, "").split()) for output, name in
             ((script.stdout, "spotify-analytics"), (module.stdout, "python -m spotify_analytics"))]  # fmt: skip
    assert words[0] == words[1]
    deadline = {"LAKEHOUSE_COMMAND_TIMEOUT": "0.001"}
    for program in ([SCRIPT], [sys.executable, "-m", "spotify_analytics"]):
        ended = run_command([*program, "export-dataset", "--out", str(tmp_path / "x")], {**study.env, **deadline})
        assert ended.returncode == 1, ended.stdout + ended.stderr
        assert "`export-dataset --out" in ended.stderr and "(LAKEHOUSE_COMMAND_TIMEOUT)" in ended.stderr
        assert "Traceback" not in ended.stderr


def test_participants_list_shows_every_listener_with_silver_counts(study: Lakehouse) -> None:
    listed = cli(study, "participants", "list")
    assert listed.returncode == 0, listed.stderr
    exports = [pseudonymous_user_id(study.settings, name) for name in real_exports_users()]
    listed_ids = ", ".join(f"'{user_id}'" for user_id in exports)  # the session's other modules add listeners too
    rows = study.sql(
        f"select user_id, count(*) as plays, min(played_at) as first, max(played_at) as last from {SILVER} "
        f"where user_id in ({listed_ids}) group by user_id"
    )
    assert len(rows) == len(real_exports_users()) == 4
    recorded = "bronze.participant_timezones"  # what participants set wrote (test_real_exports_timezones, maybe)
    zones = {
        row.user_id: row.timezone
        for row in (
            study.sql(f"select user_id, timezone from {recorded}")
            if study.session.catalog.tableExists(recorded)
            else []
        )
    }
    for row in rows:
        [line] = [line for line in listed.stdout.splitlines() if line.startswith(row.user_id)]
        assert f" {row.plays:,} " in line
        assert f"{row.first:%Y-%m-%d}" in line and f"{row.last:%Y-%m-%d}" in line
        assert f"  {zones.get(row.user_id, f'{study.settings.timezone} (TIMEZONE)')}" in line
    nate = pseudonymous_user_id(study.settings, "nate-downer__spotify-analysis")
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(nate)]
    assert "export_classic" in line and "export_extended" in line  # StreamingHistory0.json and endsong_2.json


def real_exports_users() -> list[str]:
    return sorted(path.name for path in EXPORTS.iterdir() if path.is_dir())


# ---------------------------------------------------------------- history and restore


def bad_import_plays() -> tuple[int, int]:
    """Music (audio and video) and podcast plays in the bad file, counted from the raw records: distinct
    (ts, track uri) and (ts, episode uri or show and episode name)."""
    records = json.loads(BAD_IMPORT.read_text())
    episodes = {(r["ts"], r.get("spotify_episode_uri") or (r.get("episode_show_name"), r.get("episode_name")))
                for r in records if r.get("spotify_episode_uri") or r.get("episode_name")}  # fmt: skip
    music = {(r["ts"], r["spotify_track_uri"]) for r in records
             if r.get("spotify_track_uri") and not (r.get("spotify_episode_uri") or r.get("episode_name"))}  # fmt: skip
    return len(music), len(episodes)


def test_a_bad_import_that_reached_silver_is_restored_away(study: Lakehouse, tmp_path: Path) -> None:
    """The worked example of docs/study.md: someone else's file imported under a listener, loaded and built into
    Silver; `history` shows the load, `restore` sets Bronze back, the file is deleted from landing, and a full
    refresh of Silver leaves it as it was before."""
    user_id = pseudonymous_user_id(study.settings, BAD_IMPORT_AS)
    tables = (PLAYS, PODCASTS)
    before = {table: latest_version(study, table) for table in tables}
    counts = {table: count(study, f"select count(*) from {table}") for table in (*tables, SILVER)}
    user_silver = count(study, f"select count(*) from {SILVER} where user_id = '{user_id}'")
    landing = study.settings.landing_path / "export" / user_id
    landed_before = set(landing.rglob("*.json"))
    music, episodes = bad_import_plays()
    assert music > 0

    imported = cli(study, "import-history", "--user", BAD_IMPORT_AS, str(BAD_IMPORT))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert cli(study, "load", "plays").returncode == 0
    built = study.dbt("run", "--select", "listening_with_features")
    assert built.returncode == 0, built.stdout[-3000:]
    assert count(study, f"select count(*) from {PLAYS}") == counts[PLAYS] + music
    assert count(study, f"select count(*) from {PODCASTS}") == counts[PODCASTS] + episodes
    assert count(study, f"select count(*) from {SILVER} where user_id = '{user_id}'") == user_silver + music

    history = cli(study, "history", PLAYS)
    assert history.returncode == 0, history.stderr
    load_line = next(line for line in history.stdout.splitlines() if re.match(rf"\s+{before[PLAYS] + 1}\s", line))
    assert "MERGE" in load_line and f"+{music}" in load_line

    missing = cli(study, "restore", PLAYS, "--to-version", "99999")
    assert missing.returncode == 1
    assert re.search(rf"has no version 99999: {PLAYS} has versions \d+ to \d+ \(", missing.stderr), missing.stderr
    assert "nothing was restored" in missing.stderr

    for path in set(landing.rglob("*.json")) - landed_before:  # the bad file out of landing first
        path.unlink()
    for table in tables:
        if latest_version(study, table) > before[table]:
            restored = cli(study, "restore", table, "--to-version", str(before[table]))
            assert restored.returncode == 0, restored.stdout + restored.stderr
            assert f"{table} is back to version {before[table]}" in restored.stdout
            after = cli(study, "history", table).stdout
            assert count(study, f"select count(*) from {table}") == counts[table], restored.stdout + after
    rebuilt = study.dbt("run", "--full-refresh", "--select", "listening_with_features")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    assert {table: count(study, f"select count(*) from {table}") for table in (*tables, SILVER)} == counts
    reloaded = cli(study, "load", "plays")  # nothing of the bad file comes back
    assert reloaded.returncode == 0
    assert count(study, f"select count(*) from {PLAYS}") == counts[PLAYS]


def test_restore_needs_one_target_and_is_refused_while_a_pipeline_runs(study: Lakehouse) -> None:
    neither = cli(study, "restore", PLAYS)
    assert neither.returncode == 2 and "--to-version N or --to-timestamp T" in neither.stderr
    version = latest_version(study, PLAYS)
    with pipeline_lock(study.settings.data_path / "pipeline.lock", "test-run"):
        busy = cli(study, "restore", PLAYS, "--to-version", str(version - 1))
    assert busy.returncode == 75, busy.stdout + busy.stderr
    assert "Another pipeline run is in progress (run test-run" in busy.stderr
    assert latest_version(study, PLAYS) == version


# ---------------------------------------------------------------- withdraw


def files_snapshot(data: Path) -> dict[str, tuple[int, int]]:
    """Every file of the data directory (size, mtime), but the lock files, the server's logs and the metastore."""
    return {
        str(path.relative_to(data)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in data.rglob("*")
        if path.is_file()
        and not path.name.endswith(".lock")
        and path.relative_to(data).parts[0] not in ("lakehouse", "metastore_db")
    }


def test_withdrawing_an_unknown_name_or_without_a_terminal_changes_nothing(study: Lakehouse) -> None:
    data = study.settings.data_path
    before = files_snapshot(data)

    unknown = cli(study, "participants", "withdraw", "nobody-enrolled-this-name", "--yes")
    no_terminal = subprocess.run(
        [SCRIPT, "participants", "withdraw", WITHDRAWN],
        cwd=REPO, env={**os.environ, **study.env}, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    with pipeline_lock(data / "pipeline.lock", "test-run"):
        busy = cli(study, "participants", "withdraw", WITHDRAWN, "--yes")

    assert unknown.returncode == 1
    assert "no participant 'nobody-enrolled-this-name' in the lakehouse" in unknown.stderr
    assert "nothing was changed" in unknown.stderr
    assert no_terminal.returncode == 2 and "pass --yes" in no_terminal.stderr
    assert busy.returncode == 75 and "Another pipeline run is in progress" in busy.stderr
    assert files_snapshot(data) == before


@pytest.fixture(scope="module")
def withdrawn(study: Lakehouse) -> dict:
    """The listener to withdraw also polled through the fake Spotify API (tokens, cursor, API pages, API plays in
    Bronze); what the lakehouse holds of them, by user_id; then the withdrawal, killed after its first table,
    and run again."""
    settings = study.settings
    user_id = pseudonymous_user_id(settings, WITHDRAWN)
    with FakeSpotify() as fake:
        polling = settings.model_copy(
            update={
                "client_id": fake.state.client_id,
                "client_secret": type(settings.client_secret)(fake.state.client_secret),
                "spotify_api_base_url": fake.api_url,
                "spotify_accounts_url": fake.accounts_url,
            }
        )
        authorize(polling, user_id, lambda url: "http://127.0.0.1:8888/callback?code=good-code&state=x")
        for i in range(API_PLAYS):
            fake.add_play(1_760_000_000_000 + i * 200_000, track_object(f"trk{i:019d}", f"Song {i}", "Artist"))
        assert poll(polling, user_id).plays == API_PLAYS
    assert cli(study, "load", "plays").returncode == 0
    tables = [row.tableName for row in study.sql("show tables in bronze")]
    play_tables = [f"bronze.{t}" for t in tables if t.endswith("history_bronze")] + [SILVER]
    play_ids = {row.play_id for table in play_tables
                for row in study.sql(f"select play_id from {table} where user_id = '{user_id}'")}  # fmt: skip
    per_table = {table: count(study, f"select count(*) from {table} where user_id = '{user_id}'")
                 for table in play_tables}  # fmt: skip
    others = {table: count(study, f"select count(*) from {table} where user_id != '{user_id}'")
              for table in play_tables}  # fmt: skip
    polled = count(study, f"select count(*) from {PLAYS} where source = 'api' and user_id = '{user_id}'")
    assert per_table[PLAYS] > API_PLAYS and polled == API_PLAYS  # the session's other modules poll listeners too
    assert (settings.ingest_state_path / user_id / "spotify_tokens.json").is_file()
    assert (settings.data_path / "reports" / f"user-{user_id}.html").is_file()
    # A table creation killed before its first commit, moved aside by the next write: a half-written data file
    # (no footer, so it cannot be read to be checked) whose bytes name them.
    half_written = settings.data_path / "bronze" / "_interrupted" / "plays_killed-20261206T000000Z"
    half_written.mkdir(parents=True, exist_ok=True)
    (half_written / "part-00000-half-written.snappy.parquet").write_bytes(b"PAR1" + user_id.encode())

    process = subprocess.Popen(
        [SCRIPT, "participants", "withdraw", WITHDRAWN, "--yes"],
        cwd=REPO, env={**os.environ, **study.env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    printed, deadline = [], time.monotonic() + STEP_TIMEOUT
    assert process.stdout is not None
    for line in process.stdout:
        printed.append(line)
        if re.match(r"\s+deleted [\d,]+ row\(s\) from ", line):
            process.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "".join(printed)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(printed)[-3000:]
    journal = settings.ingest_state_path / "withdrawals" / f"{audit_hash(user_id)}.json"
    assert journal.is_file()
    first_table = re.search(r"row\(s\) from (\S+)", printed[-1])[1]

    completed = cli(study, "participants", "withdraw", WITHDRAWN, "--yes")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert not journal.exists()
    assert not half_written.exists() and "table creation(s) that never committed" in "".join(printed)  # step 1
    return {"user_id": user_id, "play_ids": play_ids, "per_table": per_table, "others": others,
            "first_table": first_table, "completed": completed}  # fmt: skip


def audit_hash(user_id: str) -> str:
    return hashlib.sha256(f"withdrawn-participant|{user_id}".encode()).hexdigest()


def test_a_killed_withdrawal_run_again_completes_and_is_recorded_once(study: Lakehouse, withdrawn: dict) -> None:
    user_id, done = withdrawn["user_id"], withdrawn["completed"]
    assert "completing an earlier withdrawal that did not finish" in done.stdout
    assert f"participants withdraw: {user_id} withdrawn" in done.stdout
    [audit] = study.sql(f"select * from ops.withdrawals where participant_hash = '{audit_hash(user_id)}'")
    assert audit.attempts == 2
    for table, rows in withdrawn["per_table"].items():
        assert audit.rows_removed.get(table, 0) == rows, (table, audit.rows_removed)
        assert count(study, f"select count(*) from {table} where user_id = '{user_id}'") == 0
        assert count(study, f"select count(*) from {table} where user_id != '{user_id}'") == withdrawn["others"][table]
    assert withdrawn["first_table"] in audit.tables_erased
    assert {PLAYS, SILVER} <= set(audit.tables_erased)
    audited = " ".join(str(value) for value in audit.asDict().values())
    assert user_id not in audited and WITHDRAWN not in audited


def parquet_values(path: Path) -> set[str]:
    """Every value of a Parquet file as text (nested values too: a Delta checkpoint's file statistics)."""
    table = pq.read_table(path)
    return {str(value) for column in table.columns for value in column.to_pylist() if value is not None}


def parquet_names(path: Path, needles: tuple[str, ...], play_ids: set[str]) -> list[str]:
    """What of the needles (inside any value) and the play ids (as a value, or inside a log's statistics) a
    Parquet file holds; a data file's text columns are searched with Arrow, anything else as text."""
    table = pq.read_table(path)
    ids = pa.array(sorted(play_ids), pa.string())
    found = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type) and "_delta_log" not in path.parts:
            found += [f"{name}: {n}" for n in needles if pc.any(pc.match_substring(column, n)).as_py()]
            if pc.any(pc.is_in(column, value_set=ids)).as_py():
                found.append(f"{name}: a play id")
        else:
            text = "\n".join(str(value) for value in column.to_pylist() if value is not None)
            found += [f"{name}: {n}" for n in needles if n in text]
            if {token.decode() for token in PLAY_ID.findall(text.encode())} & play_ids:
                found.append(f"{name}: a play id")
    return found


def test_no_file_of_the_data_directory_holds_the_withdrawn_participant(study: Lakehouse, withdrawn: dict) -> None:
    """Every Parquet file under the data directory (every table's data files, live or not, and the Delta logs'
    checkpoints), read with pyarrow, and every other file (landing, state, reports, quality, logs), read as bytes:
    none holds their pseudonym, their name or one of their play ids. Nor do dbt's target and log folders."""
    data = study.settings.data_path
    user_id, play_ids = withdrawn["user_id"], withdrawn["play_ids"]
    needles = (user_id, WITHDRAWN)
    parquet = sorted(data.rglob("*.parquet"))
    assert len(parquet) > 20
    assert any("_delta_log" in path.parts for path in parquet)  # checkpoints are read too
    for path in parquet:
        assert parquet_names(path, needles, play_ids) == [], path
    folders = [data, Path(study.env["DBT_TARGET_PATH"]), Path(study.env["DBT_LOG_PATH"])]
    others = [path for folder in folders for path in folder.rglob("*")
              if path.is_file() and path.suffix != ".parquet" and "metastore_db" not in path.parts]  # fmt: skip
    assert any(path.is_relative_to(data / "landing") for path in others)
    assert any(path.is_relative_to(data / "reports") for path in others)
    for path in others:
        content = path.read_bytes()
        assert not any(needle.encode() in content for needle in needles), path
        assert not {token.decode() for token in PLAY_ID.findall(content)} & play_ids, path
    assert not list(data.rglob(user_id))  # no folder named after them (landing, state with the tokens)


def test_the_withdrawn_participant_is_gone_from_the_list_and_history_starts_anew(
    study: Lakehouse, withdrawn: dict
) -> None:
    listed = cli(study, "participants", "list")
    assert listed.returncode == 0
    assert withdrawn["user_id"] not in listed.stdout
    for name in real_exports_users():  # the other three are still listed (the session's other listeners too)
        assert (name == WITHDRAWN) != (pseudonymous_user_id(study.settings, name) in listed.stdout), name
    history = cli(study, "history", PLAYS)
    versions = [int(line.split()[0]) for line in history.stdout.splitlines()[2:]]
    assert 1 <= len(versions) <= 3  # the checkpointed commit and the properties set back
    too_old = cli(study, "restore", PLAYS, "--to-version", str(min(versions) - 1))
    assert too_old.returncode == 1
    assert f"has no version {min(versions) - 1}: {PLAYS} has versions {min(versions)} to {max(versions)}" in (
        too_old.stderr
    )
    again = cli(study, "participants", "withdraw", WITHDRAWN, "--yes")
    assert again.returncode == 0 and "already withdrawn" in again.stdout


# ---------------------------------------------------------------- export-dataset


@pytest.fixture(scope="module")
def dataset(study: Lakehouse, withdrawn: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dataset") / "study"
    # Chunks of 5,000 rows: Silver (the real exports' plays, tens of thousands) is read in many chunks
    exported = cli(study, "export-dataset", "--out", str(out), EXPORT_CHUNK_ROWS="5000")
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    return out


def exported_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.suffix in (".parquet", ".csv") and path.parent != folder)


def test_the_dataset_opens_in_pandas_and_duckdb_and_matches_its_manifest(study: Lakehouse, dataset: Path) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    tables = sorted(f"{layer}.{row.tableName}" for layer in ("silver", "gold")
                    for row in study.sql(f"show tables in {layer}") if not row.isTemporary)  # fmt: skip
    assert [entry["table"] for entry in manifest["tables"]] == tables
    for entry in manifest["tables"]:
        spark_rows = count(study, f"select count(*) from {entry['table']}")
        assert entry["rows"] == spark_rows
        assert entry["delta_version"] == latest_version(study, entry["table"])  # nothing committed since
        for file in entry["files"]:
            path = dataset / file["path"]
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert (path.stat().st_size, digest) == (file["bytes"], file["sha256"]), path
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
            in_duckdb = duckdb.sql(f"select * from {reader}('{path}')")
            assert len(frame) == in_duckdb.shape[0] == spark_rows, path
            assert list(frame.columns) == in_duckdb.columns, path
            if "play_id" in frame.columns:  # each row in exactly one chunk: Spark's distinct count, a second route
                distinct = count(study, f"select count(distinct play_id) from {entry['table']}")
                assert frame["play_id"].nunique() == distinct, path
    assert len(exported_files(dataset)) == 2 * len(tables)
    users = sorted(row.user_id for row in study.sql(f"select distinct user_id from {SILVER}"))
    assert manifest["participants"] == users  # every listener of the session's lakehouse but the withdrawn one
    remaining = {pseudonymous_user_id(study.settings, name) for name in real_exports_users() if name != WITHDRAWN}
    assert len(remaining) == 3 and remaining <= set(users)
    assert pseudonymous_user_id(study.settings, WITHDRAWN) not in users
    [run] = study.sql("select run_id from ops.pipeline_runs where run_status = 'succeeded' "
                      "order by run_started_at desc limit 1")  # fmt: skip
    assert manifest["pipeline_runs"]["latest_succeeded"]["run_id"] == run.run_id
    assert manifest["code_version"]["package"]


def test_the_codebook_names_every_column_of_every_file(dataset: Path) -> None:
    codebook = pd.read_csv(dataset / "codebook.csv", keep_default_na=False)
    documented = codebook.groupby("table")["column"].apply(list).to_dict()
    markdown = (dataset / "codebook.md").read_text()
    for path in exported_files(dataset):
        table = f"{path.parent.name}.{path.stem}"
        columns = list(pq.read_schema(path).names if path.suffix == ".parquet" else pd.read_csv(path, nrows=0).columns)
        assert documented[table] == columns, path
        assert f"## `{table}`" in markdown and "Feature provenance: " in markdown
    assert (codebook.description != "").all(), codebook[codebook.description == ""][["table", "column"]]
    assert (codebook.type != "").all()
    units = codebook.set_index(["table", "column"]).unit
    assert units[(SILVER, "ms_played")] == "milliseconds"
    assert units[(SILVER, "valence")] == "0-1 score"  # from vars.audio_features
    assert units[(SILVER, "played_at")] == "UTC timestamp"


def test_the_dataset_holds_no_direct_identifier(dataset: Path) -> None:
    """No column named as an identifier, and none of the real exports' platform strings, IP addresses or
    listener names anywhere in the files (the raw files say which values to look for)."""
    values: set[str] = set()
    for folder in EXPORTS.iterdir():
        for path in folder.glob("*.json"):
            records = json.loads(path.read_text())
            if isinstance(records, list):
                values |= {str(r[key]) for r in records for key in ("platform", "ip_addr", "ip_addr_decrypted")
                           if isinstance(r, dict) and r.get(key)}  # fmt: skip
    values = {value for value in values if len(value) > 8}  # IP addresses and device strings, not "unknown"
    assert len(values) > 100
    names = set(real_exports_users())
    for path in exported_files(dataset):
        if path.suffix == ".csv":
            with path.open(newline="") as handle:
                header, *rows = list(csv.reader(handle))
            cells = {cell for row in rows for cell in row}
        else:
            header, cells = pq.read_schema(path).names, parquet_values(path)
        assert not [column for column in header if is_identifier_name(column)], path
        assert not cells & values, (path, sorted(cells & values)[:5])
        assert not [cell for cell in cells if any(name in cell for name in names)], path
    for path in (dataset / "codebook.csv", dataset / "codebook.md", dataset / "manifest.json"):
        assert not any(name in path.read_text() for name in names), path


def is_identifier_name(column: str) -> bool:
    return re.fullmatch(r"platform|ip_addr\w*|user_agent\w*|username|user_name|context_uri", column) is not None


def test_export_refuses_a_busy_lakehouse_and_a_folder_not_empty_unless_overwrite(
    study: Lakehouse, dataset: Path
) -> None:
    other = dataset.parent / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("a researcher's notes")
    refused = cli(study, "export-dataset", "--out", str(dataset))
    not_ours = cli(study, "export-dataset", "--out", str(other), "--overwrite")
    assert refused.returncode == 1 and "is not empty" in refused.stderr and "--overwrite" in refused.stderr
    assert not_ours.returncode == 1 and "not a dataset export" in not_ours.stderr
    assert (other / "mine.txt").read_text() == "a researcher's notes"
    with pipeline_lock(study.settings.data_path / "pipeline.lock", "test-run"):
        busy = cli(study, "export-dataset", "--out", str(dataset.parent / "during-a-run"))
    assert busy.returncode == 75, busy.stdout + busy.stderr
    assert "Another pipeline run is in progress (run test-run" in busy.stderr and "Nothing was exported" in busy.stderr
    assert not (dataset.parent / "during-a-run").exists()

    first = json.loads((dataset / "manifest.json").read_text())["exported_at"]
    time.sleep(1)
    replaced = cli(study, "export-dataset", "--out", str(dataset), "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert json.loads((dataset / "manifest.json").read_text())["exported_at"] != first
    assert not [path for path in dataset.parent.iterdir() if path.name.startswith(".")]  # no staging left
    shutil.rmtree(other)
