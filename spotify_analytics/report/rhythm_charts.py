"""The listening-rhythm charts as inline SVG (see ``charts``): the hour-by-hour rhythm, indicators over periods,
z-scores against the listener's baseline and the year's mood-state mix. Pure functions of small frames; callers
decide first whether enough data stands behind a chart (``rhythm_sections``)."""

import pandas as pd

from spotify_analytics.report.charts import (
    CLUSTER_COLOURS,
    ENERGY_COLOUR,
    VALENCE_COLOUR,
    WIDTH,
    _legend,
    _polyline,
    _unit_axis,
    n,
    period_panel,
    svg,
    text,
)

# day type -> dash pattern of its lines ("" solid)
DAY_TYPE_DASH = {"weekday": "", "weekend": "6 4"}
Z_LIMIT = 3.0  # z-scores beyond ±3 are drawn at the edge (their value is written beside the bar)


def diurnal_rhythm(cells: pd.DataFrame, year: int) -> str:
    """Valence and energy by local hour, weekdays (solid) against weekends (dashed): one year's cells with
    ``day_type``, ``hour_of_day``, ``valence``, ``energy``; hours without a value leave gaps."""
    left, right, top, bottom = 40, WIDTH - 20, 30, 230
    x_of = lambda hour: left + (right - left) * float(hour) / 23  # noqa: E731
    body: list[str] = []
    _unit_axis(body, left, right, top, bottom, "0 = low, 1 = high")
    for hour in range(0, 24, 3):
        body.append(text(x_of(hour), bottom + 16, f"{hour:02d}:00", "middle", 10))
    for feature, colour in (("valence", VALENCE_COLOUR), ("energy", ENERGY_COLOUR)):
        for day_type, dash in DAY_TYPE_DASH.items():
            line = cells[cells["day_type"] == day_type].set_index("hour_of_day")[feature]
            body += _hour_line(line, x_of, top, bottom, colour, dash)
    body += _legend([("valence", VALENCE_COLOUR), ("energy", ENERGY_COLOUR)], 300, 14)
    body.append(text(right, 14, "solid: weekdays · dashed: weekends", "end", 10))
    return svg("diurnal-rhythm", WIDTH, bottom + 26, f"Valence and energy by local hour in {year}", body)


def _hour_line(values: pd.Series, x_of, top: float, bottom: float, colour: str, dash: str) -> list[str]:
    body, segment = [], []
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    for hour in range(24):
        value = values.get(hour)
        if value is None or pd.isna(value):
            body += _dashed(segment, colour, dashes)
            segment = []
            continue
        x, y = x_of(hour), bottom - (bottom - top) * float(value)
        segment.append((x, y))
        body.append(f'<circle cx="{n(x)}" cy="{n(y)}" r="2.5" fill="{colour}"/>')
    return body + _dashed(segment, colour, dashes)


def _dashed(points: list[tuple[float, float]], colour: str, dashes: str) -> list[str]:
    if len(points) < 2:
        return []
    return [_polyline(points, colour, 2).replace("/>", f"{dashes}/>")]


def period_panels(frame: pd.DataFrame, panels: list[tuple[str, str, float | None]], name: str, title: str,
                  periods: str = "months") -> str:  # fmt: skip
    """Small multiples, one panel per (column, label, fixed maximum) over ``frame``'s periods."""
    ordered = frame.sort_values("period_start").reset_index(drop=True)
    panel_w, panel_h, gap = 330, 110, 30
    date_format = "%b %Y" if periods == "months" else "%d %b %y"
    body: list[str] = []
    for index, (column, label, fixed_max) in enumerate(panels):
        ox, oy = 10 + (index % 2) * (panel_w + gap), 10 + (index // 2) * (panel_h + gap)
        body += period_panel(ordered, column, label, fixed_max, ox, oy, panel_w, panel_h, periods, date_format)
    height = 10 + ((len(panels) + 1) // 2) * (panel_h + gap)
    return svg(name, WIDTH, height, title, body)


def z_scores(changes: pd.DataFrame, labels: dict[str, str], period: str) -> str:
    """Horizontal bars of each indicator's z-score against the listener's baseline (0 in the middle), with its value
    and its change from the period before."""
    rows = changes.dropna(subset=["z_score"]).reset_index(drop=True)
    row_h, label_w, top = 22, 230, 26
    centre, half = label_w + 120, 110
    body = [
        f'<line x1="{centre}" y1="{top - 6}" x2="{centre}" y2="{top + len(rows) * row_h}" stroke="#999999"/>',
        text(centre - half, top - 10, f"-{Z_LIMIT:g} sd", "middle", 9),
        text(centre, top - 10, f"your baseline ({period})", "middle", 9),
        text(centre + half, top - 10, f"+{Z_LIMIT:g} sd", "middle", 9),
    ]
    for i, row in rows.iterrows():
        y = top + i * row_h
        z = float(row["z_score"])
        width = half * min(abs(z), Z_LIMIT) / Z_LIMIT
        x = centre if z >= 0 else centre - width
        colour = "#d6336c" if z < 0 else "#1f77b4"
        body.append(text(10, y + 14, labels.get(row["indicator"], row["indicator"])))
        body.append(f'<rect x="{n(x)}" y="{y + 4}" width="{n(max(width, 1))}" height="{row_h - 8}" fill="{colour}"/>')
        change = "" if pd.isna(row["change_from_previous"]) else f", change {float(row['change_from_previous']):+.2f}"
        body.append(text(centre + half + 8, y + 14, f"z {z:+.1f}: {float(row['value']):.2f}{change}", size=9))
    return svg("rhythm-z-scores", WIDTH, top + len(rows) * row_h + 10, f"Indicators of the latest {period}", body)


def mood_mix(mixes: pd.DataFrame) -> str:
    """One stacked bar per year: the share of listening time in sessions of each mood state (``calendar_year``,
    ``name`` the label, ``value`` the share)."""
    labels = sorted(mixes["name"].unique())
    colour_of = {label: CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)] for i, label in enumerate(labels)}
    left, bar_w, row_h = 60, WIDTH - 80, 26
    years = sorted(mixes["calendar_year"].unique())
    body: list[str] = []
    for i, year in enumerate(years):
        y, x = 30 + i * row_h, float(left)
        body.append(text(10, y + 15, str(int(year))))
        for label, share in mixes[mixes["calendar_year"] == year][["name", "value"]].itertuples(index=False):
            width = bar_w * float(share)
            body.append(
                f'<rect x="{n(x)}" y="{y}" width="{n(width)}" height="{row_h - 6}" fill="{colour_of[label]}">'
                f"<title>{label}: {float(share):.0%}</title></rect>"
            )
            x += width
    body += _legend([(label, colour_of[label]) for label in labels], left, 14)
    return svg("year-mood-mix", WIDTH, 36 + len(years) * row_h, "Mood states by listening time, per year", body)
