"""Who is enrolled, and with what: one line per participant for ``participants list``.

A participant is every pseudonym the lakehouse knows: in Bronze's plays, in Silver, among the landed files
(``landing/export/<user_id>/``, ``landing/api/<user_id>/``) and among the listeners authorised with ``auth``.
Their sources are the play sources Bronze holds for them (``api``, ``export_extended``, ``export_classic``) and
those landed but not loaded yet; plays, minutes, first and last play and feature coverage are Silver's (one row per
music play), or Bronze's music plays before Silver is built. Their timezone is the one recorded with
``participants set`` (else TIMEZONE applies), and for those without one, the zone their extended exports'
``conn_country`` suggests (``ingest.participants.timezones``).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ingest.bronze.schemas import PARTICIPANT_TIMEZONES
from ingest.config import Settings
from ingest.demo import DEMO_USER
from ingest.export.importer import exports_landing_dir
from ingest.participants.timezones import suggested_timezone
from ingest.spotify.users import listeners_with_tokens

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SILVER = "silver.listening_with_features"
BRONZE_PLAYS = "bronze.listening_history_bronze"
BRONZE_PLAY_TABLES = (BRONZE_PLAYS, "bronze.podcast_history_bronze", "bronze.audiobook_history_bronze")
# A landing folder's kind (ingest.export.kinds) as the play source Bronze will give its rows.
LANDED_SOURCE = {"classic": "export_classic", "extended": "export_extended"}


@dataclass
class Participant:
    pseudonym: str
    sources: set[str] = field(default_factory=set)
    first_play: datetime | None = None
    last_play: datetime | None = None
    plays: int = 0
    minutes: float = 0.0
    feature_coverage: float | None = None  # share of the music plays with audio features (Silver)
    counted_in: str = ""  # the table plays and minutes come from
    timezone: str | None = None  # recorded with participants set; None: TIMEZONE applies
    suggested_timezone: str | None = None  # what their extended exports suggest, for those without one

    @property
    def generated(self) -> bool:
        return self.pseudonym == DEMO_USER


def landed_sources(settings: Settings) -> dict[str, set[str]]:
    sources: dict[str, set[str]] = {}
    exports = exports_landing_dir(settings)
    for kind_folder in exports.glob("*/*") if exports.is_dir() else []:
        source = next((value for prefix, value in LANDED_SOURCE.items() if kind_folder.name.startswith(prefix)), None)
        if kind_folder.is_dir() and source:
            sources.setdefault(kind_folder.parent.name, set()).add(source)
    api = settings.landing_path / "api"
    for folder in api.iterdir() if api.is_dir() else []:
        if folder.is_dir():
            sources.setdefault(folder.name, set()).add("api")
    for pseudonym in listeners_with_tokens(settings):
        sources.setdefault(pseudonym, set()).add("api")
    return sources


def roster(spark: "SparkSession", settings: Settings) -> list[Participant]:
    """Every participant, by pseudonym."""
    participants: dict[str, Participant] = {}

    def participant(pseudonym: str) -> Participant:
        return participants.setdefault(pseudonym, Participant(pseudonym))

    for pseudonym, sources in landed_sources(settings).items():
        participant(pseudonym).sources |= sources
    for table in BRONZE_PLAY_TABLES:
        if spark.catalog.tableExists(table):
            query = f"select user_id, collect_set(source) as sources from {table} group by user_id"
            for row in spark.sql(query).collect():
                participant(row["user_id"]).sources |= set(row["sources"])
    counted = SILVER if spark.catalog.tableExists(SILVER) else BRONZE_PLAYS
    if spark.catalog.tableExists(counted):
        coverage = "avg(case when has_features then 1.0 else 0.0 end)" if counted == SILVER else "null"
        rows = spark.sql(
            f"""
            select user_id, count(*) as plays, sum(ms_played) / 60000.0 as minutes, min(played_at) as first_play,
                   max(played_at) as last_play, {coverage} as coverage
            from {counted} group by user_id
            """
        ).collect()
        for row in rows:
            found = participant(row["user_id"])
            found.plays, found.minutes = int(row["plays"]), float(row["minutes"] or 0.0)
            found.first_play, found.last_play = row["first_play"], row["last_play"]
            found.feature_coverage = None if row["coverage"] is None else float(row["coverage"])
            found.counted_in = counted
    if spark.catalog.tableExists(PARTICIPANT_TIMEZONES.qualified):
        for row in spark.sql(f"select user_id, timezone from {PARTICIPANT_TIMEZONES.qualified}").collect():
            participant(row["user_id"]).timezone = row["timezone"]
    for found in participants.values():
        if found.timezone is None:
            found.suggested_timezone = suggested_timezone(settings, found.pseudonym)
    return [participants[pseudonym] for pseudonym in sorted(participants)]
