"""Delta tables as a whole, for what works on every table of the lakehouse: finding them under the data directory
(``tables``), erasing their old versions (``erasure``), their history and restores (``history``), and the lock
that keeps pipeline runs and Bronze writers out meanwhile (``maintenance``)."""
