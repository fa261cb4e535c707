"""The waiting lock that serialises loads of plays: a second holder waits, says so, then proceeds."""

import logging
import subprocess
import sys
import time

from ingest.file_lock import waiting_lock

HOLD = "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(1.5)"  # noqa: E501


def test_a_second_holder_waits_until_the_first_releases(tmp_path, caplog) -> None:
    path = tmp_path / "state" / "bronze_plays.lock"
    path.parent.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()

    with caplog.at_level(logging.INFO, logger="ingest.file_lock"), waiting_lock(path):
        waited = time.monotonic() - started

    assert waited >= 1.0
    assert f"Waiting for another process to release {path}" in caplog.text
    holder.wait(timeout=10)


def test_a_free_lock_is_taken_at_once_without_a_message(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="ingest.file_lock"), waiting_lock(tmp_path / "free.lock"):
        pass
    assert "Waiting" not in caplog.text
