"""The Superset dashboards kept as code (``superset/bundle``): written back from a running Superset."""
