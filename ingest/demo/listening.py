"""The play process of one listener: sessions placed by daily and weekly rhythms, heavy-tailed track
choice from a personal library, skips, repeats, shuffle, platforms.

Each listener gets a personal library drawn from the universe (catalog tracks by their popularity,
synthetic tracks by a Zipf law) and a Zipf preference over it; ``catalog_share`` of plays come from
the catalog part of the library, the rest take the synthetic path. Everything is a function of
(seed, user index), so a listener's plays do not depend on how many other listeners are generated.
"""

import hashlib
from dataclasses import dataclass, fields, replace
from datetime import datetime

import numpy as np
import pandas as pd

from ingest.demo.catalog import TrackUniverse, stable_id, zipf_weights

# Share of sessions starting in each local hour 0..23 (evening peak, commute bumps, quiet nights).
HOUR_WEIGHTS = np.array(
    [
        2.0,
        1.2,
        0.7,
        0.4,
        0.3,
        0.4,
        1.0,
        2.6,
        3.6,
        3.0,
        2.6,
        2.7,
        3.2,
        3.0,
        2.8,
        2.9,
        3.3,
        4.2,
        4.8,
        5.0,
        5.2,
        4.8,
        4.0,
        3.0,
    ]
)
WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.02, 1.05, 1.15, 1.3, 1.2])  # Monday..Sunday
PLATFORMS = np.array(["android", "ios", "windows", "osx", "web_player", "cast_to_device", "linux"])
COUNTRIES = np.array(["DE", "GB", "US", "SE", "FR", "NL", "ES", "BR"])
CONTEXT_TYPES = np.array(["playlist", "album", "artist", "collection"])
FIRST_REASONS = np.array(["clickrow", "playbtn", "appload", "remote"])
SESSION_GAP_MS = 35 * 60 * 1000  # more than the 30-minute sessionisation gap
PLAYS_PER_DAY = 40.0
MEAN_SESSION_PLAYS = 12.0
SKIP_RATE = 0.2
SHUFFLE_SKIP_BONUS = 0.1
REPEAT_RATE = 0.05
MIN_MS_PLAYED = 1000
DEFAULT_END = datetime(2026, 10, 31)
# How long before the export's ts the recently-played API's played_at lies: both mark a play's end, seconds apart.
# The classic export's endTime is the minute of the same moment (measured on a real listener's overlapping classic
# and extended exports: ts - endTime within [0, 60) s for 97% of the plays, up to 80 s for the rest).
API_LAG_MS = (0, 3000)


@dataclass(frozen=True)
class ListenerPlays:
    """One listener's plays in time order; ``track`` indexes the universe's arrays."""

    user_name: str
    user_index: int
    played_at_ms: np.ndarray  # UTC epoch ms (whole seconds) when the play ended: the extended export's ts
    api_lag_ms: np.ndarray  # how much earlier the API's played_at is (API_LAG_MS): its played_at and classic endTime
    track: np.ndarray
    ms_played: np.ndarray
    session: np.ndarray
    reason_start: np.ndarray
    reason_end: np.ndarray
    skipped: np.ndarray
    shuffle: np.ndarray
    offline: np.ndarray
    incognito: np.ndarray
    platform: np.ndarray
    conn_country: str
    context_type: np.ndarray  # '' when the play had no context
    context_id: np.ndarray

    def __len__(self) -> int:
        return len(self.track)

    @property
    def api_played_at_ms(self) -> np.ndarray:
        """When the recently-played API says each play ended (milliseconds), ``api_lag_ms`` before the export's ts."""
        return self.played_at_ms - self.api_lag_ms

    def between(self, start: int, stop: int) -> "ListenerPlays":
        """Plays ``start`` to ``stop`` (0-based, stop excluded) of the listener: what one source covers of them."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays = {name: value[start:stop] for name, value in values.items() if isinstance(value, np.ndarray)}
        return replace(self, **arrays)


def user_name(index: int) -> str:
    return f"listener_{index:03d}"


def personal_library(rng: np.random.Generator, universe: TrackUniverse, size: int, pool: np.ndarray) -> np.ndarray:
    """``size`` distinct tracks of ``pool`` drawn by popularity (Gumbel top-k), most preferred first."""
    size = min(size, len(pool))
    keys = np.log(universe.popularity[pool]) + rng.gumbel(size=len(pool))
    chosen = np.argpartition(-keys, size - 1)[:size]
    return pool[chosen[np.argsort(-keys[chosen])]]


def _pick_tracks(rng: np.random.Generator, library: np.ndarray, count: int) -> np.ndarray:
    weights = zipf_weights(len(library), 0.75)
    return library[rng.choice(len(library), size=count, p=weights / weights.sum())]


def _session_lengths(rng: np.random.Generator, plays: int) -> np.ndarray:
    lengths = rng.geometric(1.0 / MEAN_SESSION_PLAYS, size=int(plays / MEAN_SESSION_PLAYS * 1.5) + 10)
    cut = int(np.searchsorted(np.cumsum(lengths), plays))
    lengths = lengths[: cut + 1].copy()
    lengths[-1] -= lengths.sum() - plays
    return lengths[lengths > 0]


def _session_starts(rng: np.random.Generator, sessions: int, first_day: pd.Timestamp, days: int, tz: str) -> np.ndarray:
    """Local start times by the weekly and daily rhythm, converted to UTC epoch ms, sorted."""
    day_index = np.arange(days)
    weekday = (first_day.dayofweek + day_index) % 7
    day_weights = WEEKDAY_WEIGHTS[weekday]
    day = rng.choice(days, size=sessions, p=day_weights / day_weights.sum())
    hour = rng.choice(24, size=sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.integers(0, 3600, size=sessions)
    local = first_day.to_datetime64() + (day * 86400 + hour * 3600 + seconds).astype("timedelta64[s]")
    utc = pd.DatetimeIndex(local).tz_localize(tz, ambiguous=np.zeros(sessions, bool), nonexistent="shift_forward")
    return np.sort(utc.as_unit("ms").asi8)


def _no_overlap(starts: np.ndarray, durations: np.ndarray) -> np.ndarray:
    """Push a session later when it would begin before the previous one ended (plus a gap)."""
    fixed = starts.copy()
    for i in range(1, len(fixed)):
        earliest = fixed[i - 1] + durations[i - 1] + SESSION_GAP_MS
        if fixed[i] < earliest:
            fixed[i] = earliest
    return fixed


def simulate_listener(
    universe: TrackUniverse,
    user_index: int,
    plays: int,
    seed: int,
    timezone: str,
    catalog_share: float,
    start: datetime | None = None,
) -> ListenerPlays:
    """``plays`` plays of listener ``user_index``; they span ``plays / 40`` days ending at DEFAULT_END,
    or start at ``start`` (local time) when given."""
    rng = np.random.default_rng([seed, 2, user_index])
    library_size = int(np.clip(plays / 5, 200, 20_000))
    catalog_lib = personal_library(rng, universe, max(20, int(library_size * catalog_share)), universe.catalog_indices)
    synthetic_lib = personal_library(rng, universe, library_size, universe.synthetic_indices)

    from_catalog = rng.random(plays) < catalog_share
    track = np.empty(plays, dtype=np.int64)
    track[from_catalog] = _pick_tracks(rng, catalog_lib, int(from_catalog.sum()))
    track[~from_catalog] = _pick_tracks(rng, synthetic_lib, int((~from_catalog).sum()))

    lengths = _session_lengths(rng, plays)
    session = np.repeat(np.arange(len(lengths)), lengths)
    first_of_session = np.r_[True, session[1:] != session[:-1]]
    last_of_session = np.r_[session[1:] != session[:-1], True]

    repeat = (rng.random(plays) < REPEAT_RATE) & ~first_of_session
    track[repeat] = track[np.flatnonzero(repeat) - 1]

    session_shuffle = rng.random(len(lengths)) < 0.45
    shuffle = session_shuffle[session]
    skipped = rng.random(plays) < (SKIP_RATE + SHUFFLE_SKIP_BONUS * shuffle)
    duration = universe.duration_ms[track]
    skip_fraction = np.where(rng.random(plays) < 0.7, rng.uniform(0.005, 0.15, plays), rng.uniform(0.15, 0.6, plays))
    ms_played = np.where(skipped, duration * skip_fraction, duration - rng.integers(0, 1500, plays)).astype(np.int64)
    ms_played = np.maximum(ms_played, MIN_MS_PLAYED)

    reason_end = np.where(skipped, rng.choice(["fwdbtn", "fwdbtn", "fwdbtn", "backbtn", "endplay"], plays), "trackdone")
    reason_end = np.where(last_of_session & ~skipped, rng.choice(["trackdone", "endplay", "logout"], plays), reason_end)
    follows = np.concatenate([["clickrow"], reason_end[:-1]])
    reason_start = np.select(
        [first_of_session, repeat, follows == "endplay"],
        [rng.choice(FIRST_REASONS, plays), "backbtn", "clickrow"],
        default=follows,
    )

    gaps = rng.integers(0, 2500, plays)
    play_ms = ms_played + gaps
    session_duration = np.bincount(session, weights=play_ms).astype(np.int64)
    days = max(1, int(np.ceil(plays / PLAYS_PER_DAY)))
    first_day = (pd.Timestamp(start) if start else pd.Timestamp(DEFAULT_END) - pd.Timedelta(days=days)).normalize()
    starts = _session_starts(rng, len(lengths), first_day, days, timezone)
    if start is not None:
        starts = np.maximum(starts, pd.Timestamp(start).tz_localize(timezone).value // 1_000_000)
    starts = _no_overlap(starts, session_duration)
    offset_in_session = np.cumsum(play_ms) - np.repeat(np.cumsum(play_ms)[last_of_session] - session_duration, lengths)
    # Whole seconds, as the export's ts: plays >= 1 s apart never share a second (distinct play_ids).
    played_at_ms = (starts[session] + offset_in_session) // 1000 * 1000

    # Drawn from a generator of their own, so adding them changed none of the plays' other values.
    api_lag_ms = np.random.default_rng([seed, 3, user_index]).integers(API_LAG_MS[0], API_LAG_MS[1] + 1, plays)
    favourite_platforms = rng.choice(len(PLATFORMS), size=2, replace=False)
    session_platform = PLATFORMS[
        np.where(rng.random(len(lengths)) < 0.8, favourite_platforms[0], favourite_platforms[1])
    ]
    session_offline = rng.random(len(lengths)) < 0.03
    session_context = np.where(rng.random(len(lengths)) < 0.15, "", rng.choice(CONTEXT_TYPES, len(lengths)))
    contexts = np.array([stable_id("context", str(seed), str(user_index), str(k)) for k in range(40)], dtype=object)
    return ListenerPlays(
        user_name=user_name(user_index),
        user_index=user_index,
        played_at_ms=played_at_ms.astype(np.int64),
        api_lag_ms=api_lag_ms.astype(np.int64),
        track=track,
        ms_played=ms_played,
        session=session,
        reason_start=reason_start.astype(object),
        reason_end=reason_end.astype(object),
        skipped=skipped,
        shuffle=shuffle,
        offline=session_offline[session],
        incognito=rng.random(plays) < 0.005,
        platform=session_platform[session].astype(object),
        conn_country=str(COUNTRIES[user_index % len(COUNTRIES)]),
        context_type=session_context[session].astype(object),
        context_id=contexts[session % len(contexts)],
    )


def pseudonymous_user_id(name: str) -> str:
    """A stand-in pseudonym for Bronze rows written directly (the CLI and bench pass the ingester's own)."""
    return "u_" + hashlib.sha256(f"workload|{name}".encode()).hexdigest()[:16]
