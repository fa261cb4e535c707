"""The main job (``run``), its steps as subprocesses, its lock, run log, dbt runner and cron schedule."""
