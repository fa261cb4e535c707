"""The Spotify Analytics Pipeline's application: the lakehouse server, the pipeline and its schedule, the quality
gate, the report, the model evaluation, and the command line on top (``python -m spotify_analytics``).

It builds on the ingester (``ingest``), which lands data and loads Bronze; nothing in ``ingest`` imports this
package, and nothing imports ``spotify_analytics.cli``.
"""
