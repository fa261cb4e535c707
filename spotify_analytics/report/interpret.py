"""One sentence of interpretation per analytics section, computed from the listener's data.

Each function returns ``None`` when there is too little data to say anything honest; the page then
says so instead of showing a sentence.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spotify_analytics.report.charts import WEEKDAYS

MIN_WEEKS_FOR_CORRELATION = 4
MIN_DAYS_FOR_TREND = 7
TREND_DAYS = 28


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    question: str


SECTIONS = [
    Section("descriptive", "Descriptive", "What, when and how much do I listen to?"),
    Section("diagnostic", "Diagnostic", "What goes along with my better and worse weeks?"),
    Section("predictive", "Predictive", "Where is my mood heading?"),
    Section("prescriptive", "Prescriptive", "What should I listen to next?"),
    Section("cognitive", "Cognitive", "Which mood states does the model recognise in my listening?"),
]


def descriptive(temporal: pd.DataFrame, top_artists: pd.DataFrame) -> str | None:
    if temporal.empty:
        return None
    minutes = temporal.groupby(["day_of_week", "hour_of_day"])["minutes_listened"].sum()
    total = float(minutes.sum())
    day, hour = minutes.sort_index().idxmax()
    by_day = temporal.groupby("day_of_week")["minutes_listened"].sum().sort_index()
    sentence = (
        f"You listened {total:,.0f} minutes in all; the busiest hour is {WEEKDAYS[int(day) - 1]} "
        f"{int(hour):02d}:00 and the busiest day {WEEKDAYS[int(by_day.idxmax()) - 1]} "
        f"({float(by_day.max()) / total:.0%} of your time)"
        if total > 0
        else "You have no listening minutes yet"
    )
    if not top_artists.empty:
        best = top_artists.sort_values("rank").iloc[0]
        sentence += f", and {best['artist_name']} took the most time ({float(best['minutes_listened']):,.0f} min)"
    return sentence + "."


DIAGNOSTIC_FACTORS = [
    ("late_night_share", "late-night listening"),
    ("skip_rate", "skipping"),
    ("repeat_share", "repeat listening"),
    ("minutes_listened", "listening time"),
]


def diagnostic(weekly: pd.DataFrame) -> str | None:
    """The indicator that moved most with weekly valence (Pearson r over weeks where both are known)."""
    weeks = weekly.dropna(subset=["valence_weighted"]).sort_values("period_start")
    if len(weeks) < MIN_WEEKS_FOR_CORRELATION:
        return None
    best: tuple[float, str, int] | None = None
    for column, label in DIAGNOSTIC_FACTORS:
        pair = weeks[["valence_weighted", column]].apply(pd.to_numeric, errors="coerce").dropna()
        if len(pair) < MIN_WEEKS_FOR_CORRELATION or pair[column].std() == 0 or pair["valence_weighted"].std() == 0:
            continue
        r = float(np.corrcoef(pair["valence_weighted"], pair[column])[0, 1])
        if best is None or abs(r) > abs(best[0]) + 1e-12:
            best = (r, label, len(pair))
    low = weeks.loc[weeks["valence_weighted"].idxmin()]
    sentence = (
        f"Your lowest-valence week began {low['period_start']:%Y-%m-%d} (valence {float(low['valence_weighted']):.2f})"
    )
    if best is None:
        return sentence + "; no indicator varied enough across weeks to compare with it."
    r, label, count = best
    direction = "higher" if r > 0 else "lower"
    return (
        f"{sentence}; across {count} weeks valence moved most with {label} (r = {r:+.2f}): "
        f"weeks with more {label} had {direction} valence."
    )


def predictive(daily: pd.DataFrame) -> str | None:
    """A straight-line trend of daily valence over the last ``TREND_DAYS`` days, projected one week on."""
    days = daily.dropna(subset=["valence_weighted"]).sort_values("period_start")
    if days.empty:
        return None
    recent = days[days["period_start"] > days["period_start"].max() - pd.Timedelta(days=TREND_DAYS)]
    if len(recent) < MIN_DAYS_FOR_TREND:
        return None
    x = (recent["period_start"] - recent["period_start"].min()).dt.days.to_numpy(dtype=float)
    y = recent["valence_weighted"].to_numpy(dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    projected = float(np.clip(intercept + slope * (x.max() + 7), 0, 1))
    current = float(days["valence_weighted"].tail(7).mean())
    per_week = slope * 7
    trend = "holding steady" if abs(per_week) < 0.005 else ("rising" if per_week > 0 else "falling")
    return (
        f"Valence is {trend} ({per_week:+.3f} per week over the last {len(recent)} listening days); "
        f"from a 7-day mean of {current:.2f} the trend projects about {projected:.2f} a week from the last day."
    )


def cognitive(sessions: pd.DataFrame, clusters: pd.DataFrame) -> str | None:
    """The listener's dominant mood state, the latest one and where sessions in that state usually go next."""
    if sessions.empty:
        return None
    ordered = sessions.sort_values(["session_start", "session_id"])
    counts = ordered["label"].value_counts().sort_index(kind="mergesort")
    dominant = counts.idxmax()
    sentence = (
        f"The model sorts your {len(ordered)} sessions into {counts.size} of its "
        f"{max(len(clusters), counts.size)} mood states; '{dominant}' is the most common "
        f"({counts.max() / len(ordered):.0%})"
    )
    latest = ordered["label"].iloc[-1]
    following = ordered["label"].shift(-1)[ordered["label"] == latest].dropna()
    if len(following):
        next_counts = following.value_counts().sort_index(kind="mergesort")
        sentence += (
            f"; after a '{latest}' session (your latest) the next one was '{next_counts.idxmax()}' "
            f"{int(next_counts.max())} of {len(following)} times"
        )
    if not clusters.empty and clusters["silhouette"].notna().any():
        sentence += f" (silhouette {float(clusters['silhouette'].dropna().iloc[0]):.2f})"
    return sentence + "."


def prescriptive(recommendations: pd.DataFrame) -> str | None:
    """The best pick of each kind: closest to the listener's taste, and the one steering their mood."""
    if recommendations.empty:
        return None
    ordered = recommendations.sort_values(["rank", "recommendation_type"])
    similar = ordered[ordered["recommendation_type"] == "similar"]
    mood = ordered[ordered["recommendation_type"] == "mood_directed"]
    parts = []
    if len(similar):
        best = similar.iloc[0]
        parts.append(
            f"closest to your taste is '{best['track_name']}' by {best['artist_name']} "
            f"(similarity {float(best['similarity']):.2f})"
        )
    if len(mood):
        best = mood.iloc[0]
        parts.append(
            f"to steer towards valence {float(best['target_valence']):.2f} and energy "
            f"{float(best['target_energy']):.2f}, start with '{best['track_name']}' by {best['artist_name']}"
        )
    if not parts:
        best = ordered.iloc[0]
        parts.append(f"start with '{best['track_name']}' by {best['artist_name']}")
    sentence = "; ".join(parts)
    return f"Of {len(ordered)} picks, {sentence}."
