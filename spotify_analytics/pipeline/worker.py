"""The pipeline's worker: one process per run that runs every step in turn, in itself.

A step is still the command a user would type (``python -m spotify_analytics load all``, ``dbt build …``), but run
here rather than in a process of its own, so a run pays Python's imports, dbt's parse of the project, the Spark
Connect session and the Great Expectations context once instead of once per step: ``spotify_analytics`` commands
go through the CLI's own entry (``faults.run_command``: the same one-line errors and watchdog as typed), dbt
commands through dbt's ``dbtRunner`` on one parsed manifest.

The pipeline (``supervisor.Worker``) starts it through ``with_parent`` (it dies with the pipeline), writes one JSON
request per line to ``REQUESTS_FD`` (``{"program": "cli" | "dbt", "args": [...]}``) and reads one reply per step from
``REPLIES_FD`` (``{"exit_code": N}``). The steps' own output goes to the worker's stdout and stderr, the pipeline's.

    python -m spotify_analytics.pipeline.worker REQUESTS_FD REPLIES_FD
"""

import json
import logging
import os
import sys
from typing import Any

log = logging.getLogger(__name__)


class DbtInProcess:
    """dbt commands on one parse of the project: the first command parses (with the vars it is given; partial
    parsing keeps that short when the project did not change), the others reuse the manifest. A build leaves the
    views and seeds unchanged since the last successful build as they are (``dbt_state``)."""

    def __init__(self) -> None:
        self._manifest: Any = None

    def invoke(self, args: list[str]) -> int:
        """dbt's exit code for ``args``: 0 success, 1 a node failed, 2 dbt itself failed."""
        from dbt.cli.main import dbtRunner

        from ingest.config import get_settings
        from spotify_analytics.pipeline import dbt_state

        settings = get_settings()
        if self._manifest is None:
            parsed = dbtRunner().invoke(["parse", *vars_of(args)])
            if not parsed.success:
                log.error("dbt parse failed: %s", parsed.exception)
                return 2
            self._manifest = parsed.result
        invoked = dbt_state.with_unchanged_left_out(args, settings)
        if invoked != args:
            log.info(
                "Views and seeds unchanged since the last build are left as they are (%s)",
                dbt_state.state_dir(settings),
            )
        result = dbtRunner(manifest=self._manifest).invoke(invoked)
        if result.exception is not None:
            log.error("dbt %s failed: %s", args[0] if args else "", result.exception)
            return 2
        if not result.success:
            return 1
        dbt_state.keep_state(args, settings)
        return 0


def vars_of(args: list[str]) -> list[str]:
    """The ``--vars`` option of a dbt command line, to parse with (empty when it has none)."""
    if "--vars" in args:
        at = args.index("--vars")
        return args[at : at + 2]
    return []


def run_cli(args: list[str]) -> int:
    """A ``spotify_analytics`` command run as ``python -m spotify_analytics`` runs it; its exit code."""
    from spotify_analytics.cli.faults import run_command
    from spotify_analytics.cli.main import app

    return run_command(app, args)


def serve(requests: Any, replies: Any) -> None:
    dbt = DbtInProcess()
    for line in requests:
        request = json.loads(line)
        args = [str(arg) for arg in request["args"]]
        code = dbt.invoke(args) if request["program"] == "dbt" else run_cli(args)
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(json.dumps({"exit_code": code}) + "\n")
        replies.flush()


def main(argv: list[str]) -> None:
    requests_fd, replies_fd = int(argv[0]), int(argv[1])
    with os.fdopen(requests_fd, "r") as requests, os.fdopen(replies_fd, "w") as replies:
        serve(requests, replies)


if __name__ == "__main__":
    main(sys.argv[1:])
