"""Self-contained HTML pages: one per listener and an overview. Inline CSS and SVG only; a
Content-Security-Policy forbids every network fetch, so a page that tried one would show it as an error.

The output depends only on the data and the ``generated_at`` string, which appears in the page head
and its header and nowhere else.
"""

from collections.abc import Callable
from html import escape

import pandas as pd

from ingest.demo import DEMO_USER, REMOVE_COMMAND
from spotify_analytics.report import charts, interpret
from spotify_analytics.report.data import ReportData, TableRead
from spotify_analytics.report.provenance import Provenance, not_feature_based, weighted_shares
from spotify_analytics.report.rhythm_sections import group_sections, rhythm_sections

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:780px;padding:16px 24px;
color:#1b1b1b;background:#fff;line-height:1.45}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin:1.6em 0 .3em;border-bottom:2px solid #1db954}
h3{font-size:1em;margin:1em 0 .3em}.meta{color:#666;font-size:.9em}
.question{font-style:italic;color:#444;margin:.2em 0}.interpretation{background:#f3faf5;border-left:4px solid #1db954;
padding:.5em .8em}.unavailable{background:#f6f6f6;border:1px dashed #aaa;padding:.5em .8em;color:#555}
.warning{background:#fff3cd;border:1px solid #e0a100;padding:.6em .9em;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:.88em}th,td{border-bottom:1px solid #e5e5e5;padding:3px 6px;
text-align:left;vertical-align:top}td.num,th.num{text-align:right}svg{max-width:100%;height:auto;display:block}
nav a{margin-right:.8em}.key span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
.little-data svg,.little-data table{opacity:.4;filter:grayscale(1)}.note{background:#f6f6f6;border-left:4px solid #999;
padding:.4em .8em;color:#444;font-size:.92em}
.citation{font-size:.85em;color:#555}.coverage{font-size:.88em;color:#333}
"""
PROVENANCE_KEY = "".join(
    f'<span style="background:{colour}"></span>{kind}' for kind, colour in charts.PROVENANCE_COLOURS.items()
)


def page(title: str, generated_at: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generated-at" content="{escape(generated_at)}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def header(title: str, generated_at: str, link: str = "") -> str:
    return (
        f'<header><h1>{escape(title)}</h1><p class="meta">Generated at '
        f'<time datetime="{escape(generated_at)}">{escape(generated_at)}</time>{link}</p></header>'
    )


def unavailable(read: TableRead, who: str = "this listener") -> str:
    reason = read.missing or f"{read.table} has no rows for {who} yet"
    return f'<p class="unavailable">Not available yet: {escape(reason)}.</p>'


def chart_block(heading: str, read: TableRead, frame: pd.DataFrame, draw: Callable[[pd.DataFrame], str]) -> str:
    content = draw(frame) if read.available and not frame.empty else unavailable(read)
    return f"<h3>{escape(heading)}</h3>{content}"


def periods(read: TableRead, period_type: str) -> pd.DataFrame:
    rows = read.rows()
    return rows[rows["period_type"] == period_type] if not rows.empty else rows


def top_items(read: TableRead, label: Callable[[pd.Series], str]) -> pd.DataFrame:
    rows = read.rows().sort_values("rank") if read.available else read.rows()
    if rows.empty:
        return rows
    return rows.assign(label=rows.apply(label, axis=1))


def track_label(row: pd.Series) -> str:
    skips = f" · skipped {row['skip_rate']:.0%}" if pd.notna(row["skip_rate"]) else ""
    return f"{row['track_name']} — {row['artist_name']}{skips}"


def interpretation(sentence: str | None) -> str:
    if sentence is None:
        return '<p class="interpretation">Too little data so far for an interpretation.</p>'
    return f'<p class="interpretation">{escape(sentence)}</p>'


def section(key: str, content: list[str], sentence: str | None) -> str:
    meta = next(s for s in interpret.SECTIONS if s.key == key)
    return (
        f'<section id="{key}"><h2>{escape(meta.title)}</h2><p class="question">{escape(meta.question)}</p>'
        + interpretation(sentence)
        + "".join(content)
        + "</section>"
    )


def summary_line(listening: TableRead, weekly: pd.DataFrame) -> str:
    """Music plays, minutes, dates, skips and feature coverage; podcast and audiobook minutes apart."""
    rows = listening.rows()
    spoken = spoken_word(weekly)
    if rows.empty:
        return f'<p class="meta">No music plays; {escape(spoken)}.</p>' if spoken else unavailable(listening)
    row = rows.iloc[0]
    skip = (
        f"skip rate {row['skip_rate']:.0%} over the {int(row['plays_skip_known']):,} plays where it is known"
        if pd.notna(row["skip_rate"])
        else "skip rate unknown (no source reported skips)"
    )
    coverage = (
        f"audio features behind {float(row['feature_coverage_plays']):.0%} of the plays and "
        f"{share_text(row['feature_coverage_minutes'])} of the listening time"
    )
    extra = f"; besides music, {spoken}" if spoken else ""
    return (
        f'<p class="meta">{int(row["plays"]):,} music plays, {float(row["minutes_listened"]):,.0f} minutes, '
        f"{row['first_day']:%Y-%m-%d} to {row['last_day']:%Y-%m-%d}; {escape(skip)}; {escape(coverage)}"
        f"{escape(extra)}.</p>"
    )


def share_text(value: object) -> str:
    return f"{float(value):.0%}" if value is not None and pd.notna(value) else "none (0 ms recorded)"


def spoken_word(weekly: pd.DataFrame) -> str:
    """ "12 minutes of podcasts and 3 of audiobooks" over the listener's weeks, or "" when there are none."""
    if weekly.empty:
        return ""
    parts = [
        f"{total:,.0f} minutes of {kind}"
        for column, kind in (("podcast_minutes", "podcasts"), ("audiobook_minutes", "audiobooks"))
        if (total := float(pd.to_numeric(weekly[column], errors="coerce").fillna(0).sum())) > 0
    ]
    return " and ".join(parts)


def coverage_of_time(listening: TableRead) -> float | None:
    """The listener's share of listening time with audio features (None when unknown)."""
    rows = listening.rows()
    if rows.empty or "feature_coverage_minutes" not in rows.columns:
        return None
    value = rows["feature_coverage_minutes"].iloc[0]
    return float(value) if pd.notna(value) else None


def resting_on_features(content: str, coverage: float | None, below: float, grey: bool = True) -> str:
    """``content`` (a feature-based chart or table) as it is, or greyed out (``grey``) with a note saying how
    little listening time its audio features cover when that share is below ``below``."""
    if coverage is not None and coverage >= below:
        return content
    share = "none" if coverage is None else f"only {coverage:.0%}"
    note = (
        f'<p class="note" data-note="little-data">Rests on little data: audio features cover {share} of this '
        f"listener's listening time (below {below:.0%}), so the mood figures here describe few of the plays.</p>"
    )
    return f'<div class="little-data">{note}{content}</div>' if grey else f"{note}{content}"


def recommendations_table(read: TableRead) -> str:
    rows = read.rows()
    if rows.empty:
        return unavailable(read)
    body = "".join(
        f'<tr><td class="num">{int(r["rank"])}</td><td>{escape(str(r["track_name"]))}</td>'
        f"<td>{escape(str(r['artist_name']))}</td><td>{escape(str(r['recommendation_type']))}</td>"
        f'<td class="num">{float(r["similarity"]):.2f}</td><td>{escape(str(r["reason"]))}</td></tr>'
        for _, r in rows.sort_values(["recommendation_type", "rank"], ascending=[False, True]).iterrows()
    )
    return (
        '<table data-table="recommendations"><thead><tr><th class="num">#</th><th>Track</th><th>Artist</th>'
        f'<th>Type</th><th class="num">Similarity</th><th>Why</th></tr></thead><tbody>{body}</tbody></table>'
    )


def user_provenance(data: ReportData) -> list[Provenance]:
    daily, weekly = periods(data.wellbeing, "day"), periods(data.wellbeing, "week")
    by_minutes = "weighted by minutes"
    return [
        not_feature_based("Listening heatmap", "minutes only, no audio features"),
        not_feature_based("Top artists and tracks", "minutes only, no audio features"),
        Provenance("Wellbeing indicators per week", f"weeks {by_minutes}", weighted_shares(weekly, "minutes_listened")),
        Provenance("Valence and energy over time", f"daily {by_minutes}", weighted_shares(daily, "minutes_listened")),
        Provenance("Mood states", "sessions behind the clusters", weighted_shares(data.clusters.rows(), "sessions")),
        Provenance("Recommendations", "your plays (their profile)", weighted_shares(data.listening.rows(), "plays")),
    ]


def provenance_panel(items: list[Provenance]) -> str:
    rows = []
    for item in items:
        if item.shares is None:
            cells = f'<td colspan="5">{escape(item.basis)}</td>'
        else:
            shares = "".join(
                f'<td class="num">{item.shares.get(kind, 0.0):.0%}</td>' for kind in ("real", "kaggle", "synthetic")
            )
            flag = " ⚠ synthetic dominates" if item.synthetic_dominates else ""
            cells = (
                f"{shares}<td>{charts.provenance_bar(item.shares, 'provenance')}</td>"
                f"<td>{escape(item.basis)}{escape(flag)}</td>"
            )
        rows.append(f"<tr><td>{escape(item.chart)}</td>{cells}</tr>")
    return (
        '<section id="provenance"><h2>Provenance of the audio features</h2>'
        '<p class="question">How much of what each chart shows rests on real, Kaggle or synthetic features?</p>'
        f'<p class="meta key">{PROVENANCE_KEY}</p><table data-table="provenance"><thead><tr><th>Chart</th>'
        '<th class="num">Real</th><th class="num">Kaggle</th><th class="num">Synthetic</th><th>Share</th>'
        f"<th>Basis</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def demo_banner(users: list[str]) -> str:
    """Says so when the page shows the generated demo listener, and when it mixes it with real listeners."""
    if DEMO_USER not in users:
        return ""
    mixed = [user for user in users if user != DEMO_USER]
    mixing = (
        f" This report shows it beside {len(mixed)} real listener(s): figures over all listeners mix them."
        if mixed
        else ""
    )
    return (
        f'<p class="warning" data-warning="demo">Generated demo listener "{DEMO_USER}": its year of '
        "listening was made up by the workload generator to show what this report does; it is nobody's "
        f"listening.{mixing} Remove it with <code>{REMOVE_COMMAND}</code>.</p>"
    )


def synthetic_warning(items: list[Provenance]) -> str:
    dominated = [item.chart for item in items if item.synthetic_dominates]
    if not dominated:
        return ""
    return (
        '<p class="warning" data-warning="synthetic">Synthetic data dominates: more than half of the audio features '
        f"behind {escape(', '.join(dominated))} are synthetic (generated, not measured), so mood readings there are "
        "illustrative only.</p>"
    )


def sources_panel(data: ReportData) -> str:
    seen: dict[str, str] = {}
    for read in data.all_reads():
        seen.setdefault(read.table, read.missing or "available")
    rows = "".join(f"<tr><td>{escape(t)}</td><td>{escape(state)}</td></tr>" for t, state in sorted(seen.items()))
    return (
        '<section id="sources"><h2>Data sources</h2><table data-table="sources"><thead><tr><th>Table</th>'
        f"<th>State</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def user_page(
    user_id: str, data: ReportData, generated_at: str, little_data_below: float = 0.5, notice: str = ""
) -> str:
    """The report of one listener; ``data`` is already restricted to them (``ReportData.for_user``). Charts that
    rest on audio features are greyed out with a note when features cover less than ``little_data_below`` of
    the listener's listening time."""
    daily, weekly = periods(data.wellbeing, "day"), periods(data.wellbeing, "week")
    coverage = coverage_of_time(data.listening)

    def featured(content: str, grey: bool = True) -> str:
        return resting_on_features(content, coverage, little_data_below, grey)

    temporal, sessions = data.temporal.rows(), data.sessions.rows()
    clusters, recommendations = data.clusters.rows(), data.recommendations.rows()
    artists = top_items(data.top_artists, lambda row: str(row["artist_name"]))
    tracks = top_items(data.top_tracks, track_label)
    provenance = user_provenance(data)
    nav = "".join(f'<a href="#{s.key}">{s.title}</a>' for s in interpret.SECTIONS) + "".join(
        f'<a href="#{key}">{title}</a>' for key, title, _ in group_sections()
    )
    body = [
        header(f"Listening wellbeing report — {user_id}", generated_at, ' · <a href="index.html">all listeners</a>'),
        demo_banner([user_id]),
        notice,
        synthetic_warning(provenance),
        f'<nav>{nav}<a href="#provenance">Provenance</a></nav>',
        section(
            "descriptive",
            [
                summary_line(data.listening, weekly),
                chart_block("Minutes by weekday and hour", data.temporal, temporal, charts.heatmap),
                chart_block("Top artists by minutes", data.top_artists, artists,
                            lambda f: charts.top_bars(f, "top-artists", "Top artists by minutes")),
                chart_block("Top tracks by minutes (skip rate where known)", data.top_tracks, tracks,
                            lambda f: charts.top_bars(f, "top-tracks", "Top tracks by minutes")),
            ],
            interpret.descriptive(temporal, data.top_artists.rows()),
        ),
        section(
            "diagnostic",
            [featured(chart_block("Wellbeing indicators per week", data.wellbeing, weekly, charts.weekly_indicators),
                      grey=False)],
            interpret.diagnostic(weekly) if not weekly.empty else None,
        ),
        section(
            "predictive",
            [featured(chart_block("Valence and energy per day, 7-day rolling means", data.wellbeing, daily,
                                  charts.mood_over_time))],
            interpret.predictive(daily) if not daily.empty else None,
        ),
        section(
            "prescriptive",
            ["<h3>Recommended tracks and why</h3>", featured(recommendations_table(data.recommendations))],
            interpret.prescriptive(recommendations),
        ),
        section(
            "cognitive",
            [featured(chart_block("Your sessions among the mood states", data.sessions, sessions,
                                  lambda f: charts.mood_clusters(f, clusters)))],
            interpret.cognitive(sessions, clusters),
        ),
        *rhythm_sections(data),
        provenance_panel(provenance),
        sources_panel(data),
    ]  # fmt: skip
    return page(f"Listening wellbeing report — {user_id}", generated_at, [part for part in body if part])


def overview_page(data: ReportData, files: dict[str, str], generated_at: str, notice: str = "") -> str:
    """All listeners at a glance, linking to their pages (``files``: user_id -> file name)."""
    listening = data.listening.rows()
    rows = []
    for user_id in data.users():
        mine = listening[listening["user_id"] == user_id] if not listening.empty else listening
        if mine.empty:
            facts = '<td colspan="7">no music plays in Silver</td>'
        else:
            r = mine.iloc[0]
            skip = f"{r['skip_rate']:.0%}" if pd.notna(r["skip_rate"]) else "unknown"
            facts = (
                f'<td class="num">{int(r["plays"]):,}</td><td class="num">{float(r["minutes_listened"]):,.0f}</td>'
                f'<td>{r["first_day"]:%Y-%m-%d} to {r["last_day"]:%Y-%m-%d}</td><td class="num">{skip}</td>'
                f'<td class="num">{share_text(r["feature_coverage_minutes"])}</td>'
                f'<td class="num">{float(r["share_features_synthetic"]):.0%}</td>'
                f"<td>{charts.provenance_bar(weighted_shares(mine, None) or {}, 'provenance')}</td>"
            )
        link = f'<a href="{escape(files[user_id])}">{escape(user_id)}</a>'
        rows.append(f"<tr><td>{link}</td>{facts}</tr>")
    table = (
        '<table data-table="listeners"><thead><tr><th>Listener</th><th class="num">Plays</th>'
        '<th class="num">Minutes</th><th>Period</th><th class="num">Skip rate</th>'
        '<th class="num" title="share of listening time with audio features">Features (time)</th>'
        '<th class="num">Synthetic</th>'
        f"<th>Feature provenance</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else '<p class="unavailable">Not available yet: no listener appears in Silver or Gold.</p>'
    )
    clusters, sessions = data.clusters.rows(), data.sessions.rows()
    cluster_chart = (
        charts.mood_clusters(sessions if not sessions.empty else pd.DataFrame(
            columns=["cluster_id", "valence", "energy"]), clusters)
        if not clusters.empty
        else unavailable(data.clusters, "any listener")
    )  # fmt: skip
    provenance = [Provenance("Mood states", "all sessions", weighted_shares(clusters, "sessions"))]
    body = [
        header("Listening wellbeing report — all listeners", generated_at),
        demo_banner(data.users()),
        notice,
        synthetic_warning(provenance),
        f'<section id="listeners"><h2>Listeners</h2><p class="meta key">{PROVENANCE_KEY}</p>{table}</section>',
        f'<section id="mood-states"><h2>Mood states of all listeners</h2>{cluster_chart}</section>',
        provenance_panel(provenance),
        sources_panel(data),
    ]
    return page("Listening wellbeing report — all listeners", generated_at, [part for part in body if part])
