"""Charts as inline SVG strings: pure functions of small pandas frames, no scripts, no fonts to fetch.

Every chart is an ``<svg data-chart="<name>">`` with a ``<title>`` for screen readers. Numbers are
written with fixed precision so the same data always gives the same bytes. Callers check that a
frame has rows before drawing; the functions assume at least one row.
"""

import math
from html import escape

import pandas as pd

WIDTH = 720
ACCENT = "#1db954"
VALENCE_COLOUR = "#e0a100"
ENERGY_COLOUR = "#d6336c"
CLUSTER_COLOURS = ["#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#7f7f7f"]
PROVENANCE_COLOURS = {"real": "#1db954", "kaggle": "#1f77b4", "synthetic": "#d62728", "none": "#bbbbbb"}
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def n(value: float) -> str:
    """A coordinate or value with at most one decimal, no trailing zeros."""
    text = f"{float(value):.1f}"
    return text[:-2] if text.endswith(".0") else text


def svg(name: str, width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg data-chart="{name}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"><title>{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def text(x: float, y: float, content: str, anchor: str = "start", size: int = 11, extra: str = "") -> str:
    return f'<text x="{n(x)}" y="{n(y)}" font-size="{size}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'


def blend(share: float, low: str = "#f2f2f2", high: str = ACCENT) -> str:
    """Colour between ``low`` and ``high`` for a share in [0, 1]."""
    share = min(max(share, 0.0), 1.0)
    a = [int(low[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(high[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def heatmap(temporal: pd.DataFrame) -> str:
    """Minutes listened per weekday (rows, Monday first) and hour of day (columns)."""
    cell, left, top = 26, 40, 24
    minutes = temporal.groupby(["day_of_week", "hour_of_day"])["minutes_listened"].sum()
    peak = max(float(minutes.max()), 1e-9)
    body = [text(left + hour * cell + cell / 2, top - 8, str(hour), "middle", 9) for hour in range(0, 24, 3)]
    for day in range(1, 8):
        y = top + (day - 1) * cell
        body.append(text(left - 6, y + cell / 2 + 4, WEEKDAYS[day - 1], "end"))
        for hour in range(24):
            value = float(minutes.get((day, hour), 0.0))
            body.append(
                f'<rect x="{left + hour * cell}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="{blend(value / peak)}"><title>{WEEKDAYS[day - 1]} {hour}:00 — {n(value)} min</title></rect>'
            )
    height = top + 7 * cell + 24
    body.append(text(left, height - 6, f"darkest cell = {n(peak)} minutes", size=10))
    return svg("heatmap", left + 24 * cell + 10, height, "Minutes listened by weekday and hour", body)


def _time_axis(dates: pd.Series, left: float, right: float):
    start, end = dates.min(), dates.max()
    span = max((end - start).days, 1)
    return lambda date: left + (right - left) * (date - start).days / span


def _unit_axis(body: list[str], left: float, right: float, top: float, bottom: float, label: str) -> None:
    for tick in (0.0, 0.5, 1.0):
        y = bottom - (bottom - top) * tick
        body.append(f'<line x1="{left}" y1="{n(y)}" x2="{right}" y2="{n(y)}" stroke="#e5e5e5"/>')
        body.append(text(left - 6, y + 4, n(tick), "end", 10))
    body.append(text(left, top - 8, label, size=10))


def _polyline(points: list[tuple[float, float]], colour: str, width: float) -> str:
    coords = " ".join(f"{n(x)},{n(y)}" for x, y in points)
    return f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="{width}"/>'


def mood_over_time(daily: pd.DataFrame, window: int = 7) -> str:
    """Daily valence and energy (dots) with their ``window``-day rolling means (lines)."""
    left, right, top, bottom = 40, WIDTH - 20, 30, 230
    frame = daily.sort_values("period_start")
    x_of = _time_axis(frame["period_start"], left, right)
    body: list[str] = []
    _unit_axis(body, left, right, top, bottom, "0 = low, 1 = high")
    for column, colour in (
        ("valence_weighted", VALENCE_COLOUR),
        ("energy_weighted", ENERGY_COLOUR),
    ):
        values = frame[["period_start", column]].dropna()
        for date, value in values.itertuples(index=False):
            y = bottom - (bottom - top) * float(value)
            body.append(f'<circle cx="{n(x_of(date))}" cy="{n(y)}" r="2" fill="{colour}" opacity="0.45"/>')
        rolling = values[column].rolling(window, min_periods=1).mean()
        points = [
            (x_of(date), bottom - (bottom - top) * float(mean))
            for date, mean in zip(values["period_start"], rolling, strict=True)
        ]
        if points:
            body.append(_polyline(points, colour, 2.5))
    first, last = frame["period_start"].min(), frame["period_start"].max()
    body.append(text(left, bottom + 18, first.strftime("%Y-%m-%d"), size=10))
    body.append(text(right, bottom + 18, last.strftime("%Y-%m-%d"), "end", 10))
    body += _legend(
        [(f"valence ({window}-day mean)", VALENCE_COLOUR), (f"energy ({window}-day mean)", ENERGY_COLOUR)], 260, 14
    )
    return svg("mood-over-time", WIDTH, bottom + 26, "Valence and energy per day with rolling means", body)


def _legend(items: list[tuple[str, str]], x: float, y: float) -> list[str]:
    body = []
    for label, colour in items:
        body.append(f'<rect x="{n(x)}" y="{n(y - 9)}" width="10" height="10" fill="{colour}"/>')
        body.append(text(x + 14, y, label, size=10))
        x += 24 + 6.5 * len(label)
    return body


def mood_clusters(sessions: pd.DataFrame, clusters: pd.DataFrame) -> str:
    """Sessions in the valence-energy plane coloured by mood state; centroids as labelled crosses."""
    size, left, top = 300, 50, 20
    colour_of = {cid: CLUSTER_COLOURS[i % len(CLUSTER_COLOURS)] for i, cid in enumerate(sorted(clusters["cluster_id"]))}
    for i, cid in enumerate(sorted(set(sessions["cluster_id"]) - set(colour_of))):
        colour_of[cid] = CLUSTER_COLOURS[(len(colour_of) + i) % len(CLUSTER_COLOURS)]

    def xy(valence: float, energy: float) -> tuple[float, float]:
        return left + size * float(valence), top + size * (1 - float(energy))

    body = [
        f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="#fafafa" stroke="#cccccc"/>',
        f'<line x1="{left + size / 2}" y1="{top}" x2="{left + size / 2}" y2="{top + size}" stroke="#e5e5e5"/>',
        f'<line x1="{left}" y1="{top + size / 2}" x2="{left + size}" y2="{top + size / 2}" stroke="#e5e5e5"/>',
        text(left + size / 2, top + size + 28, "valence (sad → happy)", "middle", 10),
        text(14, top + size / 2, "energy", "middle", 10, f' transform="rotate(-90 14 {top + size / 2})"'),
    ]
    points = sessions[["cluster_id", "valence", "energy"]].dropna()
    for cid, valence, energy in points.itertuples(index=False):
        x, y = xy(valence, energy)
        body.append(f'<circle cx="{n(x)}" cy="{n(y)}" r="3" fill="{colour_of[cid]}" opacity="0.55"/>')
    legend_y = top + 10
    for cid, label, valence, energy, count in clusters[
        ["cluster_id", "label", "centroid_valence", "centroid_energy", "sessions"]
    ].itertuples(index=False):
        x, y = xy(valence, energy)
        colour = colour_of[cid]
        body.append(
            f'<path d="M{n(x - 7)} {n(y)} H{n(x + 7)} M{n(x)} {n(y - 7)} V{n(y + 7)}" stroke="#111111" '
            f'stroke-width="4"/><path d="M{n(x - 6)} {n(y)} H{n(x + 6)} M{n(x)} {n(y - 6)} V{n(y + 6)}" '
            f'stroke="{colour}" stroke-width="2"/>'
        )
        halo = ' font-weight="bold" paint-order="stroke" stroke="#ffffff" stroke-width="3"'
        body.append(text(x + 9, y - 6, str(label), size=11, extra=halo))
        body.append(f'<rect x="{left + size + 30}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        body.append(text(left + size + 46, legend_y, f"{label}: {int(count)} sessions (all listeners)", size=10))
        legend_y += 18
    return svg("mood-clusters", WIDTH, top + size + 40, "Mood states in the valence-energy plane", body)


WEEKLY_PANELS = [
    ("minutes_listened", "minutes listened", None),
    ("valence_weighted", "valence", 1.0),
    ("mood_variability", "mood variability (sd of valence)", None),
    ("late_night_share", "late-night share", 1.0),
    ("repeat_share", "repeat share", 1.0),
    ("skip_rate", "skip rate (where known)", 1.0),
]


def weekly_indicators(weekly: pd.DataFrame) -> str:
    """Small multiples, one panel per wellbeing indicator, over weeks (gaps where a value is unknown)."""
    frame = weekly.sort_values("period_start").reset_index(drop=True)
    panel_w, panel_h, gap = 330, 110, 30
    body: list[str] = []
    for index, (column, label, fixed_max) in enumerate(WEEKLY_PANELS):
        ox = 10 + (index % 2) * (panel_w + gap)
        oy = 10 + (index // 2) * (panel_h + gap)
        body += period_panel(frame, column, label, fixed_max, ox, oy, panel_w, panel_h)
    height = 10 + 3 * (panel_h + gap)
    return svg("weekly-indicators", WIDTH, height, "Wellbeing indicators per week", body)


def period_panel(
    frame, column, label, fixed_max, ox, oy, width, height, periods="weeks", date_format="%d %b"
) -> list[str]:
    """One small-multiple panel of ``column`` over ``frame``'s periods (``period_start``, in order): bars for
    minutes, points and lines (gaps where unknown) for the rest; ``fixed_max`` fixes the scale's top."""
    values = pd.to_numeric(frame[column], errors="coerce")
    known = values.dropna()
    top_value = fixed_max or max(float(known.max()) if len(known) else 0.0, 1e-9)
    plot_top, plot_bottom = oy + 18, oy + height - 14
    step = width / max(len(frame), 1)
    body = [
        text(ox, oy + 10, label, size=11, extra=' font-weight="bold"'),
        f'<line x1="{ox}" y1="{plot_bottom}" x2="{ox + width}" y2="{plot_bottom}" stroke="#cccccc"/>',
        text(ox + width, oy + 10, f"max {n(top_value) if fixed_max else n(float(known.max()) if len(known) else 0)}",
             "end", 9),
    ]  # fmt: skip
    if not len(known):
        body.append(text(ox + width / 2, (plot_top + plot_bottom) / 2, f"not known for these {periods}", "middle", 10))
        return body
    y_of = lambda v: plot_bottom - (plot_bottom - plot_top) * float(v) / top_value  # noqa: E731
    if column == "minutes_listened":
        for i, value in known.items():
            body.append(
                f'<rect x="{n(ox + i * step + 1)}" y="{n(y_of(value))}" width="{n(max(step - 2, 1))}" '
                f'height="{n(plot_bottom - y_of(value))}" fill="{ACCENT}"/>'
            )
    else:
        segment: list[tuple[float, float]] = []
        for i, value in values.items():
            if pd.isna(value):
                body += [_polyline(segment, "#555555", 1.5)] if len(segment) > 1 else []
                segment = []
                continue
            x, y = ox + i * step + step / 2, y_of(value)
            segment.append((x, y))
            body.append(f'<circle cx="{n(x)}" cy="{n(y)}" r="2.5" fill="#555555"/>')
        body += [_polyline(segment, "#555555", 1.5)] if len(segment) > 1 else []
    first, last = frame["period_start"].iloc[0], frame["period_start"].iloc[-1]
    body.append(text(ox, plot_bottom + 12, first.strftime(date_format), size=9))
    body.append(text(ox + width, plot_bottom + 12, last.strftime(date_format), "end", 9))
    return body


def top_bars(items: pd.DataFrame, name: str, title: str) -> str:
    """Horizontal bars of minutes per item; ``items`` has ``label`` and ``minutes_listened``, best first."""
    row, left, label_w = 22, 10, 300
    peak = max(float(items["minutes_listened"].max()), 1e-9)
    body = []
    for i, (label, minutes) in enumerate(items[["label", "minutes_listened"]].itertuples(index=False)):
        y = 6 + i * row
        shown = str(label) if len(str(label)) <= 46 else str(label)[:45] + "…"
        bar = (WIDTH - label_w - 80) * float(minutes) / peak
        body.append(text(left, y + 14, shown))
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{n(max(bar, 1))}" height="{row - 6}" fill="{ACCENT}"/>')
        body.append(text(label_w + bar + 6, y + 14, f"{n(minutes)} min", size=10))
    return svg(name, WIDTH, 12 + len(items) * row, title, body)


def provenance_bar(shares: dict[str, float], name: str) -> str:
    """One stacked bar: the share of real, Kaggle, synthetic and missing features."""
    width, height = 260, 18
    body, x = [], 0.0
    for kind in ("real", "kaggle", "synthetic", "none"):
        share = float(shares.get(kind, 0.0) or 0.0)
        if share <= 0 or math.isnan(share):
            continue
        w = width * share
        body.append(
            f'<rect x="{n(x)}" y="0" width="{n(w)}" height="{height}" fill="{PROVENANCE_COLOURS[kind]}">'
            f"<title>{kind}: {share:.0%}</title></rect>"
        )
        x += w
    if not body:
        body.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eeeeee"/>')
    return svg(name, width, height, "Share of real, Kaggle, synthetic and missing features", body)
