"""Generate a whole workload: the universe once, then each listener in turn, written in one format."""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from ingest.demo.catalog import TrackUniverse, build_universe, read_catalog_tracks
from ingest.demo.listening import ListenerPlays, pseudonymous_user_id, simulate_listener
from ingest.demo.writers import FORMATS, write_api, write_bronze, write_classic, write_extended

log = logging.getLogger(__name__)

DEFAULT_CATALOG_SHARE = 0.15  # the seed reports ~15% of real plays with a Kaggle match


@dataclass(frozen=True)
class WorkloadSpec:
    users: int
    plays_per_user: int
    seed: int
    catalog_csv: Path
    timezone: str = "UTC"
    catalog_share: float = DEFAULT_CATALOG_SHARE
    first_user: int = 0  # index of the first listener (later batches can add new listeners)
    start: datetime | None = None  # local time of the first play; default: histories end 2026-10-31
    # Only each listener's plays START to END (0-based, END excluded) are written: one source's share of an
    # overlap (e.g. an extended export of plays 0:800, API pages of 500:1000, a classic export of 300:900).
    play_range: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.users < 1 or self.plays_per_user < 1:
            raise ValueError("users and plays_per_user must be at least 1")
        if self.play_range is not None and not 0 <= self.play_range[0] < self.play_range[1] <= self.plays_per_user:
            raise ValueError(
                f"play_range {self.play_range[0]}:{self.play_range[1]} must lie within 0:{self.plays_per_user} "
                "and hold at least one play"
            )
        if not 0.0 <= self.catalog_share <= 1.0:
            raise ValueError("catalog_share must be within [0, 1]")

    @property
    def synthetic_tracks(self) -> int:
        """Synthetic universe size: room for every listener's library to overlap partly with others'."""
        library = np.clip(self.plays_per_user / 5, 200, 20_000)
        return int(np.clip(self.users * library * 0.6, 5_000, 500_000))


def universe_for(spec: WorkloadSpec) -> TrackUniverse:
    return build_universe(read_catalog_tracks(spec.catalog_csv), spec.synthetic_tracks, spec.seed)


def listeners(spec: WorkloadSpec, universe: TrackUniverse) -> Iterator[ListenerPlays]:
    """Each listener's plays (those of ``spec.play_range`` when set)."""
    for index in range(spec.first_user, spec.first_user + spec.users):
        plays = simulate_listener(
            universe, index, spec.plays_per_user, spec.seed, spec.timezone, spec.catalog_share, spec.start
        )
        yield plays.between(*spec.play_range) if spec.play_range else plays


def generate(
    spec: WorkloadSpec,
    output_format: str,
    out: Path,
    user_id_for: Callable[[str], str] = pseudonymous_user_id,
) -> list[Path]:
    """Write the workload under ``out`` (one folder per listener; Bronze parquet in one folder).

    ``user_id_for`` maps a listener name to the Bronze ``user_id`` (pass the ingester's pseudonym so
    generated Bronze rows and imported exports of the same listener agree)."""
    if output_format not in FORMATS:
        raise ValueError(f"unknown format {output_format!r}; choose one of {', '.join(FORMATS)}")
    universe = universe_for(spec)
    log.info(
        "Universe: %d catalog + %d synthetic tracks; %d listeners x %d plays",
        int(universe.in_catalog.sum()), int((~universe.in_catalog).sum()), spec.users, spec.plays_per_user,
    )  # fmt: skip
    paths: list[Path] = []
    for number, plays in enumerate(listeners(spec, universe), start=1):
        folder = out / ("listening_history_bronze" if output_format == "bronze" else plays.user_name)
        folder.mkdir(parents=True, exist_ok=True)
        if output_format == "extended":
            paths += write_extended(universe, plays, folder)
        elif output_format == "classic":
            paths += write_classic(universe, plays, folder)
        elif output_format == "api":
            paths += write_api(universe, plays, folder)
        else:
            paths += write_bronze(universe, plays, folder, user_id_for(plays.user_name))
        log.info("Listener %d/%d (%s): %d plays written", number, spec.users, plays.user_name, len(plays))
    return paths
