"""Each participant's own timezone: ``bronze.participant_timezones``, one row per participant who has one (key
``user_id``, a MERGE that changes a row only when the zone changes; ``set_at`` says when). Silver's local time,
hour, weekday and part of day use it, ``TIMEZONE`` for the others; a change rebuilds that participant's Silver rows
on the next build (``models/silver/listening_with_features.sql``), and Gold's periods follow.

``suggested_timezone``: the zone a participant's landed extended exports suggest. Their records say which country
the listener connected from (``conn_country``); the most frequent country gives a zone when the tz database
(``zone.tab`` of the ``tzdata`` package, else the system's) lists one zone for it, or several that keep the same
clock from now on (Germany: ``Europe/Berlin``, and ``Europe/Busingen``, which keeps Berlin's). A country whose
zones differ (the United States, Spain with the Canaries) suggests none.
"""

import difflib
import importlib.resources
import logging
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ingest.bronze.delta import ensure_bronze_database, ensure_table, run_merge, sql_string
from ingest.bronze.schemas import PARTICIPANT_TIMEZONES
from ingest.config import Settings
from ingest.demo import DEMO_USER
from ingest.export.importer import export_landing_dir
from ingest.export.kinds import EXTENDED_AUDIO, EXTENDED_VIDEO
from ingest.spotify.recently_played import api_landing_dir
from ingest.spotify.users import pseudonymous_user_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

PSEUDONYM = re.compile(r"u_[0-9a-f]{16}")
SAME_CLOCK_YEARS = 2  # zones of one country that agree over this many years from now are one zone


class UnknownTimezone(ValueError):
    """Not an IANA timezone name; the message names it and, where one is close, the name meant."""


class UnknownParticipant(LookupError):
    """No participant of that name or pseudonym has landed anything; the message names it."""


def participant_id(settings: Settings, name: str) -> str:
    """The participant's ``user_id``: a pseudonym (``u_`` and 16 hex digits) or the demo listener as given, else the
    pseudonym of the listener name given to ``import-history --user`` / ``auth --user``."""
    return name if PSEUDONYM.fullmatch(name) or name == DEMO_USER else pseudonymous_user_id(settings, name)


def require_participant(settings: Settings, name: str) -> str:
    """``participant_id`` of a participant who has landed plays or exports or authorised polling; else
    UnknownParticipant naming ``name``."""
    user_id = participant_id(settings, name)
    found = (
        api_landing_dir(settings, user_id),
        export_landing_dir(settings, user_id),
        settings.ingest_state_path / user_id,
    )
    if not any(folder.is_dir() for folder in found):
        raise UnknownParticipant(
            f"unknown participant {name!r}: nothing landed or authorised for them (no {found[0]}, {found[1]} or "
            f"{found[2]}). Give the name used with import-history --user or auth --user (names are case-sensitive), "
            "or the pseudonym u_…"
        )
    return user_id


def check_timezone(zone: str) -> str:
    """``zone`` when it is an IANA timezone name the tz database knows; else UnknownTimezone naming it."""
    known = zoneinfo.available_timezones()
    if zone in known:
        return zone
    close = difflib.get_close_matches(zone, sorted(known), n=1)
    hint = f"; did you mean {close[0]}?" if close else " (e.g. Europe/Berlin, America/New_York, Asia/Tokyo)"
    raise UnknownTimezone(f"unknown timezone {zone!r}: not an IANA timezone name{hint}")


def set_timezone(spark: "SparkSession", settings: Settings, user_id: str, zone: str) -> bool:
    """Record ``zone`` as the participant's timezone (checked: UnknownTimezone). Returns whether it changed
    anything: setting the zone a participant already has writes nothing."""
    check_timezone(zone)
    ensure_bronze_database(spark)
    ensure_table(spark, PARTICIPANT_TIMEZONES)
    metrics = run_merge(
        spark,
        PARTICIPANT_TIMEZONES.qualified,
        f"(select {sql_string(user_id)} as user_id, {sql_string(zone)} as timezone)",
        "t.user_id = s.user_id",
        "when matched and t.timezone <> s.timezone then update set timezone = s.timezone, set_at = current_timestamp()",
        "when not matched then insert (user_id, timezone, set_at) values (s.user_id, s.timezone, current_timestamp())",
    )
    changed = bool(metrics.get("numTargetRowsInserted", 0) or metrics.get("numTargetRowsUpdated", 0))
    log.info("Timezone of %s: %s (%s)", user_id, zone, "set" if changed else "unchanged")
    return changed


def current_timezone(spark: "SparkSession", user_id: str) -> str | None:
    """The participant's recorded timezone, None when they have none (TIMEZONE applies)."""
    if not spark.catalog.tableExists(PARTICIPANT_TIMEZONES.qualified):
        return None
    rows = spark.sql(
        f"select timezone from {PARTICIPANT_TIMEZONES.qualified} where user_id = {sql_string(user_id)}"
    ).collect()
    return rows[0]["timezone"] if rows else None


def suggested_timezone(settings: Settings, user_id: str) -> str | None:
    """The timezone the participant's landed extended exports suggest (module docstring), None when they have no
    extended export, no ``conn_country`` or a country without one clock."""
    countries = Counter(_connection_countries(settings, user_id))
    if not countries:
        return None
    country, _ = countries.most_common(1)[0]
    return country_timezone(country)


def _connection_countries(settings: Settings, user_id: str) -> Iterator[str]:
    landed = export_landing_dir(settings, user_id)
    for kind in (EXTENDED_AUDIO, EXTENDED_VIDEO):
        for path in sorted((landed / kind.kind).glob("*.json")):
            try:
                records = orjson.loads(path.read_bytes()).get("records") or []
            except (OSError, ValueError) as exc:
                log.warning("Cannot read %s for its countries (%s): skipped", path, exc)
                continue
            for record in records:
                country = record.get("conn_country") if isinstance(record, dict) else None
                if isinstance(country, str) and len(country) == 2:
                    yield country.upper()


def country_timezone(country: str) -> str | None:
    """The zone of an ISO 3166 country when the tz database gives it one clock (module docstring), else None."""
    zones = _zones_by_country().get(country.upper(), [])
    if not zones:
        return None
    if len(zones) == 1 or _same_clock(zones):
        return zones[0]
    return None


def _same_clock(zones: list[str]) -> bool:
    now = datetime.now(UTC)
    instants = [now + timedelta(days=days) for days in range(0, 365 * SAME_CLOCK_YEARS, 7)]
    offsets = {
        zone: [instant.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset() for instant in instants] for zone in zones
    }
    first = offsets[zones[0]]
    return all(offsets[zone] == first for zone in zones[1:])


@cache
def _zones_by_country() -> dict[str, list[str]]:
    """zone.tab: country code -> its zones, in the file's order (its first is the country's main zone)."""
    text = _zone_tab()
    by_country: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _, zone, *_ = line.split("\t")
        by_country.setdefault(country, []).append(zone)
    return by_country


def _zone_tab() -> str:
    try:
        return importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    log.warning("No zone.tab (tzdata package or system tz database): no timezone suggestions")
    return ""
