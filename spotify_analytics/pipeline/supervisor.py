"""The pipeline's side of its worker (``worker``): start it at the first step, hand it each step, and watch it.

While a step runs, the pipeline checks every few seconds that the lakehouse server still answers: a step whose
server died is stopped at once and fails with why the server stopped (out of memory, say) and what to do, rather
than wait for its client to give up; a step that outlives ``PIPELINE_STEP_TIMEOUT`` is stopped too. Stopping a step
stops the worker (SIGINT first, so dbt cancels its queries, then SIGKILL): the run ends there anyway. The worker
runs through ``with_parent``, so a killed pipeline takes it, and the step it runs, with it.
"""

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from typing import IO

from ingest.config import Settings
from spotify_analytics.pipeline.dbt import dbt_env
from spotify_analytics.server.process import answers, why_it_stopped

log = logging.getLogger(__name__)

SERVER_CHECK_SECONDS = 5.0
SERVER_CHECKS_BEFORE_DEAD = 2  # a server that fails two checks in a row (5-10 s) is dead, not busy
STOP_GRACE_SECONDS = 20.0  # a step asked to stop (SIGINT: dbt cancels its queries) gets this long before SIGKILL
DEAD_SERVER_GRACE_SECONDS = 5.0  # ... unless its server died: there is no query left to cancel


class Worker:
    """The run's worker process; ``run`` hands it one step and waits for its exit code."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._requests: IO[str] | None = None
        self._replies: IO[str] | None = None

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, program: str, args: tuple[str, ...], server_was_up: bool) -> tuple[int | None, str]:
        """Run one step: its exit code (None when it was stopped or the worker died) and why it was stopped ('' when
        it ended by itself)."""
        requests, replies = self._started()
        requests.write(json.dumps({"program": program, "args": list(args)}) + "\n")
        requests.flush()
        return self._await_reply(replies, server_was_up)

    def _started(self) -> tuple[IO[str], IO[str]]:
        if self.process is None or self.process.poll() is not None:
            requests_read, requests_write = os.pipe()
            replies_read, replies_write = os.pipe()
            argv = [sys.executable, "-m", "spotify_analytics.pipeline.worker", str(requests_read), str(replies_write)]
            self.process = subprocess.Popen(
                dying_with_this_process(argv),
                cwd=self.settings.project_dir,
                env=dbt_env(self.settings),
                pass_fds=(requests_read, replies_write),
            )
            os.close(requests_read)
            os.close(replies_write)
            self._requests = os.fdopen(requests_write, "w")
            self._replies = os.fdopen(replies_read, "r")
        assert self._requests is not None and self._replies is not None
        return self._requests, self._replies

    def _await_reply(self, replies: IO[str], server_was_up: bool) -> tuple[int | None, str]:
        assert self.process is not None
        deadline, failed_checks = time.monotonic() + self.settings.pipeline_step_timeout, 0
        while True:
            readable, _, _ = select.select([replies], [], [], SERVER_CHECK_SECONDS)
            if readable:
                line = replies.readline()
                if line:
                    return int(json.loads(line)["exit_code"]), ""
                return self._ended(), ""  # the worker died in the step (its watchdog ended it, say)
            if time.monotonic() > deadline:
                self.stop()
                return None, f"timed out after {self.settings.pipeline_step_timeout:.0f} s (PIPELINE_STEP_TIMEOUT)"
            failed_checks = 0 if not server_was_up or answers(self.settings) else failed_checks + 1
            if failed_checks >= SERVER_CHECKS_BEFORE_DEAD:
                log.error("The lakehouse server stopped answering: stopping the step")
                self.stop(DEAD_SERVER_GRACE_SECONDS)
                return None, why_it_stopped(self.settings)

    def _ended(self) -> int:
        assert self.process is not None
        code = self.process.wait()
        self._forget()
        return code if code != 0 else 1  # a worker never exits 0 in a step

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGINT first (dbt cancels its running queries, a load releases its locks), SIGKILL after the grace time."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._forget()

    def close(self) -> None:
        """End the worker after the run's last step (end of its requests: it exits by itself)."""
        if self.process is None:
            return
        assert self._requests is not None
        self._requests.close()
        grace = STOP_GRACE_SECONDS if answers(self.settings) else DEAD_SERVER_GRACE_SECONDS
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.stop(grace)
        self._forget()

    def _forget(self) -> None:
        for pipe in (self._requests, self._replies):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(OSError):  # a pipe whose other end is gone
                    pipe.close()
        self.process, self._requests, self._replies = None, None, None


def dying_with_this_process(argv: list[str]) -> list[str]:
    """``argv`` run through ``with_parent``, so that it dies with the pipeline."""
    return [sys.executable, "-m", "spotify_analytics.pipeline.with_parent", str(os.getpid()), *argv]
