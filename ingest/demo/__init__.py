"""The generated demo listener: what a first run shows before any real listening history is there.

Its user id is ``DEMO_USER`` everywhere (real listeners' ids are salted hashes, ``u_…``); ``REMOVE_COMMAND`` takes
it out again. The code that lands and removes it is ``ingest.demo.listener``; its plays come from the listening
generator here: ``catalog`` builds the track universe (real Kaggle tracks plus a majority of synthetic ones),
``listening`` simulates each listener's plays, ``generate`` and ``writers`` write them in Spotify's shapes (the
benchmarks' ``python -m bench.workload`` writes them at scale).
"""

DEMO_USER = "demo"
REMOVE_COMMAND = "python -m spotify_analytics demo remove"
