"""The generated demo listener: what a first run shows before any real listening history is there.

Its user id is ``DEMO_USER`` everywhere (real listeners' ids are salted hashes, ``u_…``); ``REMOVE_COMMAND`` takes
it out again. The code that lands and removes it is ``ingest.demo.listener``.
"""

DEMO_USER = "demo"
REMOVE_COMMAND = "python -m ingest demo remove"
