"""Withdraw a participant: remove them from every table, file and report of the lakehouse, erase the tables' old
versions, and record the withdrawal without recording who it was.

``survey`` looks (and changes nothing): the rows that name the pseudonym in every Delta table under the data
directory (``rows``), their folders (landing files, state, Spotify tokens), their report page. ``withdraw`` then
runs these steps, each recorded in the journal (``journal``) as it ends, so a withdrawal that was killed is
completed by running it again (every step can be repeated):

1. ``folders``: their Spotify tokens, cursors and poll records (``state/<user_id>/``) and their landed files
   (``landing/*/<user_id>/``) are deleted, so no poll or load brings them back, and so are the table folders whose
   creation never committed (``scrub.interrupted_creations``); the list of loaded files and every
   other state file forgets them; Great Expectations' suites and results (``quality/gx``) drop their checks.
2. ``rows``: the rows naming them are deleted from every table (Bronze with its quarantine, Silver, Gold, the
   quality and run history); each table with rows deleted is listed for step 4.
3. ``refit``: the mood states (``gold.mood_clusters``, a summary of every listener's sessions) are rebuilt
   without their sessions.
4. ``erase``: every table of step 2 (and the refitted one) loses its old versions: deletion vectors purged,
   VACUUM with no retention, the log cut to one checkpoint (``spotify_analytics.delta.erasure``).
5. ``files``: their report page is deleted and the report written again; the Data Docs are rebuilt from the
   cleaned results; every other file naming them (the server's and dbt's logs and artifacts) is redacted.
6. ``audit``: a row in ``ops.withdrawals`` (``audit``), then the journal is deleted.

The caller holds the pipeline's run lock and the Bronze writer's lock (``spotify_analytics.delta.maintenance``).
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from spotify_analytics.delta.erasure import RETENTION_OVERRIDE, erase_old_versions, table_properties
from spotify_analytics.delta.tables import DeltaTable, delta_tables
from spotify_analytics.participants import scrub
from spotify_analytics.participants.audit import AuditRow, earlier_withdrawals, record_withdrawal
from spotify_analytics.participants.identity import audit_hash
from spotify_analytics.participants.journal import Journal, open_journal, pending_journal
from spotify_analytics.participants.rows import delete_rows_naming, naming_condition, rows_naming
from spotify_analytics.pipeline.dbt import target_path

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

MOOD_STATES = "gold.mood_clusters"
SESSION_CLUSTERS = "gold.mood_session_clusters"
Progress = Callable[[str], None]


@dataclass
class Survey:
    """What the lakehouse holds of one participant."""

    pseudonym: str
    rows: dict[str, int]  # table -> rows naming them (tables with none are left out)
    folders: list[Path]
    report_page: Path | None
    resumes: bool  # an earlier withdrawal of them did not finish
    withdrawn_before: list[datetime] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.rows or self.folders or self.report_page or self.resumes)


@dataclass(frozen=True)
class Withdrawal:
    rows_removed: dict[str, int]
    files_deleted: int
    files_edited: int
    tables_erased: list[str]
    attempts: int
    warnings: list[str]


def data_roots(settings: Settings) -> dict[str, Path]:
    """The data directory's folders a withdrawal treats each in its own way."""
    from spotify_analytics.quality.gx_context import docs_dir
    from spotify_analytics.report.writer import report_dir

    data = settings.data_path
    return {
        "landing": settings.landing_path,
        "state": settings.ingest_state_path,
        "reports": report_dir(settings),
        "gx": settings.quality_path / "gx",
        "docs": docs_dir(settings.quality_path),
        "metastore": data / "metastore_db",
    }


def report_page(settings: Settings, pseudonym: str) -> Path:
    from spotify_analytics.report.writer import report_dir, user_file_name

    return report_dir(settings) / user_file_name(pseudonym)


def survey(spark: "SparkSession", settings: Settings, pseudonym: str) -> Survey:
    roots = data_roots(settings)
    rows = {}
    for table in delta_tables(settings.data_path):
        found = rows_naming(spark, table, pseudonym)
        if found:
            rows[table.name] = found
    page = report_page(settings, pseudonym)
    hashed = audit_hash(pseudonym)
    return Survey(
        pseudonym,
        rows,
        scrub.participant_folders((roots["landing"], roots["state"]), pseudonym),
        page if page.is_file() else None,
        pending_journal(settings, hashed),
        earlier_withdrawals(spark, hashed),
    )


def withdraw(spark: "SparkSession", settings: Settings, pseudonym: str, progress: Progress) -> Withdrawal:
    """Run (or complete) the withdrawal of the participant; see the module's steps."""
    journal, resumed = open_journal(settings, audit_hash(pseudonym))
    if resumed:
        progress(f"completing an earlier withdrawal that did not finish (steps done: {journal.steps_done or 'none'})")
    journal.save()
    warnings: list[str] = []
    tables = {table.name: table for table in delta_tables(settings.data_path)}
    steps: list[tuple[str, Callable[[], None]]] = [
        ("folders", lambda: _folders(spark, settings, pseudonym, tables, journal, progress)),
        ("rows", lambda: _rows(spark, pseudonym, tables, journal, progress)),
        ("refit", lambda: _refit(spark, settings, tables, journal, progress, warnings)),
        ("erase", lambda: _erase(spark, settings, tables, journal, progress)),
        ("files", lambda: _files(spark, settings, pseudonym, journal, progress, warnings)),
        ("audit", lambda: _audit(spark, pseudonym, journal)),
    ]
    for name, step in steps:
        if not journal.done(name):
            step()
            journal.mark(name)
    journal.remove()
    return Withdrawal(
        journal.rows_removed,
        journal.files_deleted,
        journal.files_edited,
        journal.tables_erased,
        journal.attempts,
        warnings,
    )


def _count_files(journal: Journal, counts: scrub.FileCounts) -> None:
    journal.files_deleted += counts.deleted
    journal.files_edited += counts.edited
    journal.save()


def play_ids_of(spark: "SparkSession", tables: dict[str, DeltaTable], pseudonym: str) -> frozenset[str]:
    """The participant's play ids, from every table with a ``play_id`` column (while the rows are still there)."""
    ids: set[str] = set()
    for table in tables.values():
        schema = table.schema(spark)
        condition = naming_condition(schema, pseudonym)
        if "play_id" in schema.fieldNames() and condition:
            query = f"select distinct play_id from {table.sql} where ({condition}) and play_id is not null"
            ids.update(row["play_id"] for row in spark.sql(query).toLocalIterator())
    return frozenset(ids)


def _folders(
    spark: "SparkSession",
    settings: Settings,
    pseudonym: str,
    tables: dict[str, DeltaTable],
    journal: Journal,
    progress: Progress,
) -> None:
    roots = data_roots(settings)
    folders = scrub.participant_folders((roots["landing"], roots["state"]), pseudonym)
    removed = scrub.remove_folders(folders)
    progress(f"deleted {removed.deleted} file(s) in {len(folders)} folder(s): landing files, state, Spotify tokens")
    _count_files(journal, removed)
    interrupted = scrub.interrupted_creations(settings.data_path)
    if interrupted:
        aside = scrub.remove_folders(interrupted)
        progress(
            f"deleted {aside.deleted} file(s) of {len(interrupted)} table creation(s) that never committed "
            f"(_interrupted/: no committed rows, and half-written files cannot be checked)"
        )
        _count_files(journal, aside)
    needles = scrub.Needles(pseudonym, play_ids_of(spark, tables, pseudonym))
    state = scrub.scrub_json_files(roots["state"], needles)
    quality = scrub.scrub_json_files(roots["gx"], needles)
    progress(
        f"took them out of {state.edited + quality.edited} state and quality record(s) "
        f"({state.deleted + quality.deleted} deleted)"
    )
    _count_files(journal, state)
    _count_files(journal, quality)


def _rows(
    spark: "SparkSession", pseudonym: str, tables: dict[str, DeltaTable], journal: Journal, progress: Progress
) -> None:
    """Delete the rows naming them, table by table. A table is listed for erasure before its DELETE starts, and
    the rows of a DELETE that a killed attempt left unconfirmed count when the table no longer holds any."""
    for name, table in tables.items():
        found = rows_naming(spark, table, pseudonym)
        unconfirmed = journal.rows_deleting.pop(name, None)
        if unconfirmed is not None and not found:
            journal.rows_removed[name] = journal.rows_removed.get(name, 0) + unconfirmed
        if found:
            journal.rows_deleting[name] = found
            if name not in journal.tables_to_erase:
                journal.tables_to_erase.append(name)
            journal.save()
            delete_rows_naming(spark, table, pseudonym)
            journal.rows_removed[name] = journal.rows_removed.get(name, 0) + journal.rows_deleting.pop(name)
            progress(f"deleted {found:,} row(s) from {name}")
        journal.save()


def _refit(
    spark: "SparkSession",
    settings: Settings,
    tables: dict[str, DeltaTable],
    journal: Journal,
    progress: Progress,
    warnings: list[str],
) -> None:
    """Rebuild the mood states when session clusters were deleted (as ``demo remove`` does)."""
    from spotify_analytics.pipeline.dbt import run_dbt

    if SESSION_CLUSTERS not in journal.rows_removed or MOOD_STATES not in tables:
        return
    progress(f"rebuilding {MOOD_STATES} without their sessions (dbt run --select mood_clusters)")
    result = run_dbt(settings, "run", "--select", "mood_clusters")
    if result.returncode != 0:
        warnings.append(
            f"{MOOD_STATES} could not be rebuilt (dbt exited {result.returncode}): run "
            "`dbt run --select mood_clusters`; its older versions still summarise their sessions"
        )
        return
    if MOOD_STATES not in journal.tables_to_erase:
        journal.tables_to_erase.append(MOOD_STATES)
        journal.save()


def _erase(
    spark: "SparkSession", settings: Settings, tables: dict[str, DeltaTable], journal: Journal, progress: Progress
) -> None:
    for name in journal.tables_to_erase:
        if name in journal.tables_erased or name not in tables:
            continue
        table = tables[name]
        if name not in journal.original_properties:
            journal.original_properties[name] = table_properties(spark, table)
            journal.save()
        original = journal.original_properties[name]
        files = erase_old_versions(spark, table, original, settings.spark_shuffle_partitions)
        journal.tables_erased.append(name)
        journal.save()
        progress(f"erased the old versions of {name} ({files} file(s) deleted; its history starts anew)")


def _files(
    spark: "SparkSession",
    settings: Settings,
    pseudonym: str,
    journal: Journal,
    progress: Progress,
    warnings: list[str],
) -> None:
    roots = data_roots(settings)
    page = report_page(settings, pseudonym)
    if page.is_file():
        page.unlink()
        _count_files(journal, scrub.FileCounts(deleted=1))
    if (roots["reports"] / "index.html").is_file():
        warnings.extend(_rewrite_report(spark, settings, progress))
    if roots["gx"].is_dir():
        _count_files(journal, scrub.scrub_json_files(roots["gx"], scrub.Needles(pseudonym)))
        warnings.extend(_rebuild_data_docs(settings, progress))
    tables = [table.folder for table in delta_tables(settings.data_path)]
    skip = [roots["landing"], roots["metastore"], *tables]
    others = scrub.redact_files([settings.data_path, *dbt_folders(settings)], pseudonym, skip)
    progress(f"redacted {others.edited} log and artifact file(s), deleted {others.deleted}")
    _count_files(journal, others)


def dbt_folders(settings: Settings) -> list[Path]:
    """dbt's target and log folders (DBT_TARGET_PATH, DBT_LOG_PATH; default target/ and logs/ of the project)."""
    logs = Path(os.environ.get("DBT_LOG_PATH") or "logs")
    return [target_path(settings), settings.path(logs)]


def _rewrite_report(spark: "SparkSession", settings: Settings, progress: Progress) -> list[str]:
    from spotify_analytics.report.writer import report_dir, write_report

    try:
        _, pages = write_report(spark, settings, report_dir(settings))
    except Exception as exc:  # the page is gone; the overview is rewritten by the next pipeline run
        return [f"the report could not be written again ({str(exc)[:300]}): run `spotify-analytics report`"]
    progress(f"wrote the report again: {len(pages) - 1} listener page(s)")
    return []


def _rebuild_data_docs(settings: Settings, progress: Progress) -> list[str]:
    from spotify_analytics.quality import docs_assets, gx_context

    docs = gx_context.docs_dir(settings.quality_path)
    try:
        context = gx_context.open_context(settings.quality_path)
        context.build_data_docs(site_names=[gx_context.DOCS_SITE])
        if (docs / "index.html").is_file():
            docs_assets.make_offline(docs)
    except Exception as exc:
        return [f"the Data Docs could not be rebuilt ({str(exc)[:300]}): run `spotify-analytics validate silver`"]
    progress(f"rebuilt the Data Docs in {docs}")
    return []


def _audit(spark: "SparkSession", pseudonym: str, journal: Journal) -> None:
    record_withdrawal(
        spark,
        AuditRow(
            participant_hash=audit_hash(pseudonym),
            started_at=datetime.fromisoformat(journal.started_at),
            finished_at=datetime.now(UTC),
            rows_removed=journal.rows_removed,
            files_deleted=journal.files_deleted,
            files_edited=journal.files_edited,
            tables_erased=journal.tables_erased,
            retention_override=RETENTION_OVERRIDE,
            attempts=journal.attempts,
        ),
    )
