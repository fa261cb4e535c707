"""Cron schedules: check a 5-field expression, and render the scheduler container's crontab.

The crontab template is ``docker/crontab``; ``python -m spotify_analytics crontab`` fills in PIPELINE_SCHEDULE and
POLL_SCHEDULE, so the schedule is configured like every other setting and a bad value fails early.
"""

from pathlib import Path
from string import Template

from ingest.cron_schedule import check_schedule

CRONTAB_TEMPLATE = Path("docker") / "crontab"


def render_crontab(template: Path, pipeline_schedule: str, poll_schedule: str) -> str:
    return Template(template.read_text()).substitute(
        PIPELINE_SCHEDULE=check_schedule(pipeline_schedule), POLL_SCHEDULE=check_schedule(poll_schedule)
    )
