"""Run a command that dies with the process that started it: ``python -m spotify_analytics.pipeline.with_parent
PARENT_PID COMMAND...``.

The pipeline runs each step through this: it asks Linux to send the step SIGTERM when its parent dies (the
parent-death signal survives exec), then becomes the step. A killed pipeline so takes its running step with it.
(SIGINT let dbt cancel its queries, but a load blocked in a Spark Connect call did not see it for minutes; the
server finishes a killed client's statement, and the next load's MERGE runs again after it. Setting the signal in
``preexec_fn`` instead runs Python between fork and exec in a process with gRPC threads, which aborts.)
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
EXIT_PARENT_GONE = 70


def main(argv: list[str]) -> None:
    parent, command = int(argv[0]), argv[1:]
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was set: do not start the step at all
        sys.exit(EXIT_PARENT_GONE)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
