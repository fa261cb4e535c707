"""Spotify Analytics Pipeline: ingest into Bronze Delta tables and run the lakehouse server."""
