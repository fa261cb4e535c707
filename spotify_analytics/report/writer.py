"""Write the report files: ``index.html`` (overview) and ``user-<user_id>.html`` per listener.

Files are replaced atomically (written next to the target, then renamed), so a web server serving the
folder never hands out half a page; pages of listeners who are gone are removed.
"""

import hashlib
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.config import Settings
from ingest.spotify.lapse import Lapse, current_lapses
from spotify_analytics.quality.gate_config import load_config
from spotify_analytics.report.data import ReportData, read_report_data
from spotify_analytics.report.html import overview_page, user_page
from spotify_analytics.report.lapses import lapse_notice

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

INDEX = "index.html"
USER_PREFIX = "user-"
SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def user_file_name(user_id: str) -> str:
    """``user-<user_id>.html``; ids with other characters get a readable form plus a short hash."""
    if SAFE_ID.fullmatch(user_id) and not user_id.startswith("."):
        return f"{USER_PREFIX}{user_id}.html"
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", user_id)[:60]
    digest = hashlib.sha256(user_id.encode()).hexdigest()[:10]
    return f"{USER_PREFIX}{readable}-{digest}.html"


def write_reports(
    data: ReportData, out_dir: Path, generated_at: str, little_data_below: float = 0.5, lapses: Sequence[Lapse] = ()
) -> list[Path]:
    """Write the overview and one page per listener; returns the paths, overview first. Feature-based charts of a
    listener whose audio features cover less than ``little_data_below`` of their listening time are greyed out.
    Listeners whose Spotify authorisation lapsed (``lapses``) get a notice on the overview and their page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    users = data.users()
    files = {user_id: user_file_name(user_id) for user_id in users}
    written = [_write(out_dir / INDEX, overview_page(data, files, generated_at, lapse_notice(lapses)))]
    for user_id in users:
        notice = lapse_notice(lapses, user_id)
        page = user_page(user_id, data.for_user(user_id), generated_at, little_data_below, notice)
        written.append(_write(out_dir / files[user_id], page))
    current = {path.name for path in written}
    for stale in sorted(out_dir.glob(f"{USER_PREFIX}*.html")):
        if stale.name not in current:
            log.info("Removing the report of a listener no longer in the data: %s", stale.name)
            stale.unlink()
    return written


def _write(path: Path, content: str) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    partial.replace(path)
    return path


REPORTS_FOLDER = "reports"


def report_dir(settings: Settings) -> Path:
    """Where the report is written by default: ``<DATA_DIR>/reports``."""
    return settings.data_path / REPORTS_FOLDER


def write_report(
    spark: "SparkSession", settings: Settings, out_dir: Path, gold: str = "gold", silver: str = "silver"
) -> tuple[ReportData, list[Path]]:
    """Read Silver and Gold and write the pages; returns the data read and the paths, overview first. Charts that
    rest on audio features are greyed out below the gate's coverage.listener_minutes minimum (QUALITY_CONFIG);
    listeners whose Spotify authorisation lapsed are named (``ingest.spotify.lapse``)."""
    little_data_below = load_config(settings.path(settings.quality_config)).coverage["listener_minutes"].min
    data = read_report_data(spark, gold=gold, silver=silver)
    generated_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return data, write_reports(data, out_dir, generated_at, little_data_below or 0.0, current_lapses(settings))
