"""`make run`'s job on a machine with nothing outside the repository: no Kaggle file, no Spotify credentials, no
plays. The pipeline generates the demo catalog and lands the generated demo listener ``demo``, so the first report
shows every section with its chart, labelled as generated; the same run again with nothing new skips every step
but the poll and the upkeep; importing an export says how to remove the demo, and ``demo remove`` takes it out of
every table, its landing file and the report.

It runs first in the session (``runs_first``): the lakehouse must not hold plays yet.
"""

from pathlib import Path

import pytest
from browser import REPORT_SECTIONS, inspect_page, require_chromium
from conftest import NO_CREDENTIALS, STEP_NAMES, Lakehouse, gold_versions, run_id_of, summary_rows

from ingest.demo.listener import LISTENER_TABLES
from tests.integration.ingest_exports import extended_record, write_extended

pytestmark = pytest.mark.runs_first

USER_CHARTS = {"heatmap", "top-artists", "top-tracks", "weekly-indicators", "mood-over-time", "mood-clusters"}


@pytest.fixture(scope="module")
def nothing_outside(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a fresh machine: no Kaggle file where the setting points, no Spotify credentials."""
    return {"KAGGLE_CSV": str(tmp_path_factory.mktemp("nothing") / "dataset.csv"), **NO_CREDENTIALS}


@pytest.fixture(scope="module")
def first_run(lakehouse: Lakehouse, nothing_outside: dict[str, str]):
    result = lakehouse.cli("pipeline", env=nothing_outside)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return result


def demo_rows(lakehouse: Lakehouse) -> dict[str, int]:
    return {
        table: lakehouse.sql(f"select count(*) as n from {table} where user_id = 'demo'")[0].n
        for table in LISTENER_TABLES
        if lakehouse.session.catalog.tableExists(table)
    }


def test_the_first_run_ends_with_the_report_then_the_tables_then_where_to_look(lakehouse: Lakehouse, first_run) -> None:
    out = first_run.stdout
    reports = lakehouse.settings.data_path / "reports"
    assert "demo: landed a GENERATED demo listener 'demo' (12,000 plays" in out
    summary = out[out.index("Pipeline finished in") :]
    report, tables, further = (summary.index(text) for text in ("Report:", "Tables built", "Look further"))
    assert report < tables < further
    assert str(reports / "index.html") in summary and (reports / "index.html").as_uri() in summary
    assert "It shows the GENERATED demo listener 'demo'" in summary
    for table, rows in (("silver.listening_with_features", "12,000"), ("gold.kaggle_track_sound_clusters", "2,000")):
        [line] = [line for line in summary.splitlines() if line.strip().startswith(table)]
        assert line.rstrip().endswith(f"{rows} rows"), line
    [gold] = [line for line in summary.splitlines() if line.strip().startswith("gold.wellbeing_indicators")]
    assert "not built" not in gold
    assert "dbt show --select" in summary and "dbt docs serve" in summary
    assert "NOTE: the catalog is GENERATED demo data" in summary
    [bronze] = lakehouse.sql(
        "select count(*) as n, min(catalog_source) as lo, max(catalog_source) as hi from bronze.kaggle_tracks_bronze"
    )
    assert (bronze.n, bronze.lo, bronze.hi) == (2000, "generated", "generated")


def test_a_second_run_with_nothing_new_skips_every_step_but_the_poll(
    lakehouse: Lakehouse, first_run, nothing_outside: dict[str, str]
) -> None:
    """The first run again, as cron starts it 6 hours later with nothing new: it finds every input as the first run
    left it, so each step after the poll but the upkeep says so and does nothing; no table gains a version (a
    skipped step writes nothing). (It runs before the page's test, whose screenshot is new output of the report.)"""
    first_id = run_id_of(first_run.stdout)
    versions = gold_versions(lakehouse)

    second = lakehouse.cli("pipeline", env=nothing_outside)

    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    rows = {row.step: row for row in summary_rows(lakehouse, run_id_of(second.stdout))}
    assert rows["server"].status == "ok" and rows["poll"].status == "ok"  # skipped without credentials, exit 0
    assert rows["maintain"].status == "ok"  # the clock is one of its inputs: it always runs, and finds nothing due
    assert "maintain: nothing due" in second.stdout, second.stdout[-3000:]
    later = [name for name in STEP_NAMES if name not in ("server", "poll", "maintain")]
    assert {name: rows[name].status for name in later} == dict.fromkeys(later, "skipped")
    assert {name: rows[name].message for name in later} == dict.fromkeys(
        later, f"nothing new since run {first_id}: its inputs are unchanged"
    )
    assert gold_versions(lakehouse) == versions


def test_the_demo_page_shows_every_section_with_its_chart_and_says_it_is_generated(
    lakehouse: Lakehouse, first_run, tmp_path: Path
) -> None:
    require_chromium()
    reports = lakehouse.settings.data_path / "reports"
    screenshot = reports / "screenshot-demo.png"  # the README's picture (docs/images/report-demo.png) is a copy
    seen = inspect_page(reports / "user-demo.html", tmp_path / "profile", screenshot, height=1400)
    assert seen["errors"] == []
    assert {chart["name"] for chart in seen["charts"]} >= USER_CHARTS
    assert all(chart["drawn"] > 0 and chart["width"] > 0 for chart in seen["charts"])
    for heading in REPORT_SECTIONS:
        assert heading in seen["text"]
    assert "Not available yet" not in seen["text"] and "Too little data for an interpretation" not in seen["text"]
    # the listening-rhythm charts that rest on audio features use measured ones only: the demo's are mostly synthetic
    assert "Too little data for this chart" in seen["text"]
    assert 'Generated demo listener "demo"' in seen["text"]
    assert screenshot.stat().st_size > 10_000
    index = (reports / "index.html").read_text()
    assert 'data-warning="demo"' in index and 'href="user-demo.html"' in index


def test_importing_says_how_to_remove_the_demo_and_remove_takes_it_out_everywhere(
    lakehouse: Lakehouse, first_run, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    write_extended(export, 0, [extended_record(i) for i in range(5)])
    imported = lakehouse.cli("import-history", "--user", "first-real-listener", str(export))
    assert imported.returncode == 0, imported.stderr
    assert "remove it with: python -m spotify_analytics demo remove" in imported.stdout
    before = demo_rows(lakehouse)
    spoken = {"bronze.podcast_history_bronze", "bronze.audiobook_history_bronze"}  # the demo listens to music only
    assert all(rows > 0 for table, rows in before.items() if table not in spoken), before

    removed = lakehouse.cli("demo", "remove")

    assert removed.returncode == 0, removed.stdout[-3000:] + removed.stderr[-3000:]
    assert "bronze.listening_history_bronze: 12,000 rows of 'demo' deleted" in removed.stdout
    assert set(demo_rows(lakehouse).values()) == {0}
    assert not (lakehouse.settings.landing_path / "export" / "demo").exists()
    reports = lakehouse.settings.data_path / "reports"
    assert not (reports / "user-demo.html").exists()
    index = (reports / "index.html").read_text()
    assert "user-demo.html" not in index and 'data-warning="demo"' not in index
    again = lakehouse.cli("demo", "add", "--when-empty")
    assert again.returncode == 0 and "demo: not needed (" in again.stdout, again.stdout
    back = lakehouse.cli("load", "catalog")  # the real sample replaces the demo catalog for the modules after this
    assert back.returncode == 0, back.stderr
    assert "2000 deleted" in back.stdout
