#!/bin/sh
# One cron job: `spotify-analytics <command>` with the container's environment, output to the
# container's stdout through the FIFO the scheduler's entrypoint reads.
set -u
. /home/app/.cron-env
cd /app
out=/tmp/cron-output
exec >>"$out" 2>&1
echo "[cron $(date -u +%FT%TZ)] start: spotify-analytics $*"
spotify-analytics "$@"
code=$?
echo "[cron $(date -u +%FT%TZ)] end: spotify-analytics $* -> exit code $code"
exit "$code"
