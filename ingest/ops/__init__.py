"""Running the pipeline unattended: the run lock, the steps, the run summary, the cron schedule."""
