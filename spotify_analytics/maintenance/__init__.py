"""Keeping the lakehouse fast as it ages: Delta table upkeep (``tables``) and the retention of landed responses
(``landing``), run by ``maintain`` (a pipeline step, and a command)."""
