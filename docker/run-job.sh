#!/bin/sh
# One cron job: `python -m ingest <command>` with the container's environment, output to the
# container's stdout through the FIFO the scheduler's entrypoint reads.
set -u
. /home/app/.cron-env
cd /app
out=/tmp/cron-output
exec >>"$out" 2>&1
echo "[cron $(date -u +%FT%TZ)] start: python -m ingest $*"
python -m ingest "$@"
code=$?
echo "[cron $(date -u +%FT%TZ)] end: python -m ingest $* -> exit code $code"
exit "$code"
