"""Measuring tools of the benchmark: wall time per step, peak RSS of the server and of the client side.

The client side is this process plus every process it starts (dbt, the workload generator), except the
lakehouse server. RSS is sampled from /proc a few times a second while a workload runs.
"""

import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.2
SUBSTEP = "· "  # sub-steps are part of a step's time, not added to the wall time


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def proc_files(name: str) -> Iterator[tuple[int, bytes]]:
    """(pid, content of /proc/<pid>/<name>) of every process that can still be read."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / name).read_bytes()
            except OSError:
                continue


def _parents() -> dict[int, int]:
    return {pid: int(stat.rsplit(b")", 1)[1].split()[1]) for pid, stat in proc_files("stat")}


def client_rss(exclude: int | None) -> int:
    """RSS of this process and its descendants, without the server's process tree."""
    parents = _parents()
    family, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        current = frontier.pop()
        for pid, parent in parents.items():
            if parent == current and pid != exclude and pid not in family:
                family.add(pid)
                frontier.append(pid)
    return sum(rss_bytes(pid) for pid in family)


class PeakRss:
    """Samples server and client RSS in a background thread while active."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.server_peak = 0
        self.client_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        if self.server_pid:
            self.server_peak = max(self.server_peak, rss_bytes(self.server_pid))
        self.client_peak = max(self.client_peak, client_rss(self.server_pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass
class Run:
    """One run of a workload: seconds per step (in order), notes, figures."""

    steps: dict[str, float] = field(default_factory=dict)
    models: dict[str, float] = field(default_factory=dict)  # dbt node -> seconds
    server_peak: int = 0
    client_peak: int = 0

    @property
    def wall(self) -> float:
        """Seconds of the timed steps: setup steps and sub-steps (part of a step's time) left out."""
        return sum(
            seconds for name, seconds in self.steps.items() if "(setup)" not in name and not name.startswith(SUBSTEP)
        )

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.monotonic() - started


@contextmanager
def timed_calls(run: Run, module: object, names: tuple[str, ...], label: str) -> Iterator[None]:
    """Time calls of ``module.<name>`` as sub-steps ("· label: name") of the current step; a profile of
    where a step's time goes, without changing what it does."""
    originals = {name: getattr(module, name) for name in names if hasattr(module, name)}

    def wrap(name: str, function: Callable) -> Callable:
        def timed(*args: object, **kwargs: object) -> object:
            with run.step(f"{SUBSTEP}{label}: {name}"):
                return function(*args, **kwargs)

        return timed

    for name, function in originals.items():
        setattr(module, name, wrap(name, function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(module, name, function)


def median_of(runs: list[Run], attribute: str) -> dict[str, float]:
    names = list(dict.fromkeys(name for run in runs for name in getattr(run, attribute)))
    return {
        name: statistics.median(getattr(run, attribute)[name] for run in runs if name in getattr(run, attribute))
        for name in names
    }


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "cores": os.cpu_count(),
        "memory_bytes": int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024,
        "load_average": list(os.getloadavg()),
    }
