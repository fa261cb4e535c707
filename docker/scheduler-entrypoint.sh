#!/bin/sh
# The scheduler container: Debian cron in the foreground, jobs run as `app`, their output on stdout.
# cron itself must run as root (it switches to the job's user); the jobs never do.
set -eu
cd /app

# cron starts jobs with an empty environment: keep the container's (settings, credentials from .env)
# in a file only `app` can read, which each job sources.
env_file=/home/app/.cron-env
umask 077
python -c 'import os, shlex
skip = {"HOME", "PWD", "SHLVL", "_", "HOSTNAME"}
for name, value in sorted(os.environ.items()):
    if name not in skip:
        print(f"export {name}={shlex.quote(value)}")' >"$env_file"
chmod 600 "$env_file"
chown app:app "$env_file"
umask 022

# The crontab from PIPELINE_SCHEDULE / POLL_SCHEDULE; a bad schedule stops the container here.
su app -s /bin/sh -c '. /home/app/.cron-env && spotify-analytics crontab' >/etc/cron.d/spotify-lakehouse
chmod 644 /etc/cron.d/spotify-lakehouse
echo "Scheduler crontab:"
grep -Ev '^(#|$)' /etc/cron.d/spotify-lakehouse

# Job output -> FIFO -> this container's stdout. Opening the FIFO read-write keeps it open between jobs.
fifo=/tmp/cron-output
rm -f "$fifo"
mkfifo -m 600 "$fifo"
chown app:app "$fifo"
cat <>"$fifo" &
exec cron -f
