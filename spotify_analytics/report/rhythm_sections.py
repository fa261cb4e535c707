"""The report's listening-rhythm sections: one per indicator group (its chart, its citation, the coverage it rests
on), the comparison with the listener's own baseline, and the year in review. A chart with too little data behind
it is replaced by a note saying so, never drawn from noise."""

from html import escape

import pandas as pd

from spotify_analytics.report import rhythm_charts
from spotify_analytics.report.data import ReportData, TableRead
from spotify_analytics.report.indicators import RhythmSettings, rhythm_settings

MIN_PERIODS = 3  # periods with a value a chart over time needs
MIN_HOURS = 6  # hours with a value a line of the hour-by-hour chart needs
RECENT = {"month": 24, "week": 52}  # the charts over time show the latest periods


def group_sections() -> list[tuple[str, str, str]]:
    """(section id, title, question) of every rhythm section, in page order."""
    return [
        ("rhythm-diurnal", "Diurnal rhythm", "How do the valence and energy of my music move through the day?"),
        ("rhythm-repetitiveness", "Repetitiveness", "How much do I listen to the same tracks again?"),
        ("rhythm-low-valence", "Low-valence persistence", "Do low-valence days run on for long?"),
        ("rhythm-favourites", "Favourites", "How do the tracks I play most sound?"),
        ("rhythm-late-night", "Late-night listening", "How much do I listen between midnight and 5 am?"),
        ("rhythm-changes", "Against my own baseline", "Which indicators moved away from my usual?"),
        ("year-in-review", "Year in review", "What did my year of listening hold?"),
    ]


def rhythm_sections(data: ReportData) -> list[str]:
    """The sections of one listener (``data`` already restricted to them)."""
    settings = rhythm_settings()
    rhythms = data.rhythms.rows()
    months, weeks = _recent(rhythms, "month"), _recent(rhythms, "week")
    titles = {key: (title, question) for key, title, question in group_sections()}
    minutes = settings.min_minutes
    bodies = {
        "rhythm-diurnal": _diurnal(data, settings),
        "rhythm-repetitiveness": _over_time(
            data.rhythms, months, [("repeat_share", "repeat share", 1.0), ("top10_share", "top-10 share", 1.0)],
            "repetitiveness", "Repeat and top-10 shares of listening time per month", "months",
            _coverage(months, "minutes_listened", None, "months", minutes),
        ),
        "rhythm-low-valence": _over_time(
            data.rhythms, months, [("low_valence_run_days", "longest low-valence run (days)", None),
                                   ("judged_days", "days judged against the baseline", None)],
            "low-valence-runs", "Longest run of low-valence days per month", "months",
            _coverage(months, "minutes_listened", "measured_share", "months", minutes, settings),
            needed=["low_valence_run_days"],
        ),
        "rhythm-favourites": _over_time(
            data.rhythms, months, [("favourite_valence", "favourites' valence", 1.0),
                                   ("favourite_tempo", "favourites' tempo (BPM)", None)],
            "favourites", "Valence and tempo of the favourites per month", "months",
            _coverage(months, "favourite_minutes", "favourite_measured_share", "months", minutes, settings),
        ),
        "rhythm-late-night": _over_time(
            data.rhythms, weeks, [("late_night_share", "late-night share of listening time", 1.0),
                                  ("minutes_listened", "minutes listened", None)],
            "late-night", "Late-night share of listening time per week", "weeks",
            _coverage(weeks, "minutes_listened", None, "weeks", minutes), needed=["late_night_share"],
        ),
        "rhythm-changes": _changes(data.rhythm_changes, settings),
        "year-in-review": _year_in_review(data, settings),
    }  # fmt: skip
    groups = {
        "rhythm-diurnal": "diurnal", "rhythm-repetitiveness": "repetitiveness", "rhythm-low-valence": "low_valence",
        "rhythm-favourites": "favourites", "rhythm-late-night": "late_night",
    }  # fmt: skip
    sections = []
    for key, body in bodies.items():
        title, question = titles[key]
        citation = _citation(settings.citations(groups[key])) if key in groups else ""
        sections.append(
            f'<section id="{key}"><h2>{escape(title)}</h2><p class="question">{escape(question)}</p>'
            f"{citation}{body}</section>"
        )
    return sections


def _recent(rhythms: pd.DataFrame, period_type: str) -> pd.DataFrame:
    if rhythms.empty:
        return rhythms
    rows = rhythms[rhythms["period_type"] == period_type].sort_values("period_start")
    return rows.tail(RECENT[period_type]).reset_index(drop=True)


def _citation(citations: list[str]) -> str:
    if not citations:
        return (
            '<p class="citation" data-citation="none">No published definition behind this indicator: it is the '
            "project's own (see docs/study-workflow.md).</p>"
        )
    return '<p class="citation" data-citation="source">Source: ' + " ".join(escape(c) for c in citations) + "</p>"


def _coverage(
    rows: pd.DataFrame, minutes: str, measured: str | None, periods: str, min_minutes: float,
    settings: RhythmSettings | None = None,
) -> str:  # fmt: skip
    """What the figures of a section rest on: listening time and, for feature-based ones, its measured share."""
    if rows.empty:
        return ""
    total = float(pd.to_numeric(rows[minutes], errors="coerce").fillna(0).sum())
    span = f"the latest {len(rows)} {periods}" if len(rows) > 1 else f"the latest {periods.rstrip('s')}"
    text = f"Rests on {total:,.0f} minutes of listening over {span}"
    if measured is None:
        text += f"; uses no audio features. A period with under {min_minutes:g} minutes has no value."
    else:
        weights = pd.to_numeric(rows[minutes], errors="coerce").fillna(0)
        shares = pd.to_numeric(rows[measured], errors="coerce").fillna(0)
        share = float((weights * shares).sum() / total) if total > 0 else 0.0
        floor = settings.min_measured_share if settings else 0.5
        text += (
            f"; measured audio features (Spotify API or Kaggle, never synthetic) cover {share:.0%} of that time. "
            f"A figure resting on under {min_minutes:g} minutes, or on measured features for under {floor:.0%} of its "
            "time, has no value."
        )
    return f'<p class="coverage" data-coverage="{escape(minutes)}">{escape(text)}</p>'


def too_little(reason: str) -> str:
    return f'<p class="note" data-note="too-little-data">Too little data for this chart: {escape(reason)}.</p>'


def _over_time(
    read: TableRead, rows: pd.DataFrame, panels: list, name: str, title: str, periods: str, coverage: str,
    needed: list[str] | None = None,
) -> str:  # fmt: skip
    """A chart of indicators over periods, drawn when the indicators ``needed`` (default: every panel's) have a
    value in at least ``MIN_PERIODS`` of the periods."""
    if not read.available:
        return f'<p class="unavailable">Not available yet: {escape(read.missing)}.</p>'
    columns = needed or [column for column, _, _ in panels]
    known = max((int(pd.to_numeric(rows[c], errors="coerce").notna().sum()) for c in columns), default=0)
    if rows.empty or known < MIN_PERIODS:
        verb = "has" if known == 1 else "have"
        chart = too_little(f"{known} of the latest {len(rows)} {periods} {verb} a value, {MIN_PERIODS} are needed")
    else:
        chart = rhythm_charts.period_panels(rows, panels, name, title, periods)
    return coverage + chart


def _diurnal(data: ReportData, settings: RhythmSettings) -> str:
    """The hour-by-hour rhythm of the listener's latest year with a line of at least ``MIN_HOURS`` hours."""
    read = data.diurnal
    if not read.available:
        return f'<p class="unavailable">Not available yet: {escape(read.missing)}.</p>'
    cells = read.rows()
    years = sorted({int(start.year) for start in cells["period_start"]}, reverse=True) if not cells.empty else []
    yearly = data.rhythms.rows()
    for year in years:
        mine = cells[cells["period_start"].dt.year == year]
        split = mine[mine["day_type"] != "all"]
        longest = split.groupby("day_type")[["valence", "energy"]].count().max().max() if not split.empty else 0
        if longest >= MIN_HOURS:
            year_row = yearly[(yearly["period_type"] == "year") & (yearly["period_start"].dt.year == year)]
            coverage = _coverage(year_row, "minutes_listened", "measured_share", "year", settings.min_minutes, settings)
            return coverage + rhythm_charts.diurnal_rhythm(split, year)
    latest = yearly[yearly["period_type"] == "year"].tail(1) if not yearly.empty else yearly
    coverage = _coverage(latest, "minutes_listened", "measured_share", "year", settings.min_minutes, settings)
    return coverage + too_little(f"no year has {MIN_HOURS} hours with a valence or energy on weekdays or weekends")


def _changes(read: TableRead, settings: RhythmSettings) -> str:
    """The latest week's z-scores as a chart, and the latest week's and month's comparisons as a table."""
    if not read.available:
        return f'<p class="unavailable">Not available yet: {escape(read.missing)}.</p>'
    rows = read.rows()
    labels = {indicator.name: indicator.label for indicator in settings.indicators}
    intro = (
        '<p class="coverage" data-coverage="baseline">Each indicator against the period before and against your own '
        "baseline: the z-score is how many standard deviations the value lies from your mean over the 8 whole weeks "
        "before (it needs 4 of them with a value).</p>"
    )
    week = rows[rows["period_type"] == "week"] if not rows.empty else rows
    if week.empty or week["z_score"].notna().sum() == 0:
        chart = too_little("no indicator of the latest week has a baseline of 4 weeks with a value")
    else:
        start = week["period_start"].iloc[0]
        chart = rhythm_charts.z_scores(week, labels, f"week of {start:%d %b %Y}")
    return intro + chart + _changes_table(rows, labels)


def _changes_table(rows: pd.DataFrame, labels: dict[str, str]) -> str:
    known = rows.dropna(subset=["value"]) if not rows.empty else rows
    if known.empty:
        return ""
    body = "".join(
        f"<tr><td>{escape(r.period_type)} of {r.period_start:%Y-%m-%d}</td>"
        f'<td>{escape(labels.get(r.indicator, r.indicator))}</td><td class="num">{r.value:.2f}</td>'
        f'<td class="num">{_signed(r.change_from_previous)}</td><td class="num">{_signed(r.z_score, 1)}</td></tr>'
        for r in known.sort_values(["period_type", "indicator"]).itertuples(index=False)
    )
    return (
        '<table data-table="rhythm-changes"><thead><tr><th>Period</th><th>Indicator</th><th class="num">Value</th>'
        '<th class="num">Change</th><th class="num">z</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def _signed(value: object, digits: int = 2) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):+.{digits}f}"


def _year_in_review(data: ReportData, settings: RhythmSettings) -> str:
    """The listener's latest year: totals, top lists, mood-state mix (all years, as a chart), biggest changes."""
    if not data.years.available:
        return f'<p class="unavailable">Not available yet: {escape(data.years.missing)}.</p>'
    years, items = data.years.rows(), data.year_items.rows()
    if years.empty:
        return '<p class="unavailable">Not available yet: no year of listening.</p>'
    latest = years.sort_values("calendar_year").iloc[-1]
    year = int(latest["calendar_year"])
    mine = items[items["calendar_year"] == year] if not items.empty else items
    genre_share = latest["genre_known_share"]
    summary = (
        f'<p class="meta" data-year="{year}">{year}: {float(latest["minutes_listened"]):,.0f} minutes over '
        f"{int(latest['days_listened'])} days, {int(latest['distinct_tracks']):,} tracks by "
        f"{int(latest['distinct_artists']):,} artists; the Kaggle catalog knows the genres of "
        f"{_share(genre_share)} of the time.</p>"
    )
    lists = "".join(
        _top_list(mine, name, heading)
        for name, heading in (
            ("top_artists", "Top artists"),
            ("top_tracks", "Top tracks"),
            ("top_genres", "Top genres"),
        )
    )
    mixes = items[items["list"] == "mood_state_mix"].dropna(subset=["value"]) if not items.empty else items
    if mixes.empty:
        mix = too_little(
            "no year has mood states resting on enough measured features "
            f"({settings.min_measured_share:.0%} of the time in sessions with a mood state)"
        )
    else:
        mix = rhythm_charts.mood_mix(mixes)
    return summary + lists + "<h3>Mood states by year</h3>" + mix + _biggest_changes(mine, year, settings)


def _share(value: object) -> str:
    return "none" if value is None or pd.isna(value) else f"{float(value):.0%}"


def _top_list(items: pd.DataFrame, name: str, heading: str) -> str:
    rows = items[items["list"] == name].sort_values("rank") if not items.empty else items
    if rows.empty:
        return f'<h3>{escape(heading)}</h3><p class="note">None known for this year.</p>'
    entries = "".join(
        f"<li>{escape(str(r.name))}{' — ' + escape(str(r.detail)) if isinstance(r.detail, str) else ''}"
        f" ({float(r.value):,.0f} min)</li>"
        for r in rows.itertuples(index=False)
    )
    return f'<h3>{escape(heading)}</h3><ol data-list="{name}">{entries}</ol>'


def _biggest_changes(items: pd.DataFrame, year: int, settings: RhythmSettings) -> str:
    rows = items[items["list"] == "biggest_changes"].sort_values("rank") if not items.empty else items
    heading = f"<h3>Biggest changes against {year - 1}</h3>"
    if rows.empty:
        return heading + '<p class="note">None: no indicator has a value in both years with a monthly spread.</p>'
    entries = "".join(
        f"<li>{escape(settings.label(r.name))}: {r.previous_value:.2f} → {r.value:.2f} "
        f"({r.change_in_sds:+.1f} of your month-to-month spreads)</li>"
        for r in rows.itertuples(index=False)
    )
    return f'{heading}<ol data-list="biggest_changes">{entries}</ol>'
