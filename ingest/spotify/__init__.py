"""The Spotify Web API source. Resources, each declared (key, cursor, write disposition) where it is defined:
``recently_played`` (``recently_played.RECENTLY_PLAYED``, polled by ``poll``: the API keeps only the last 50 plays),
``tracks`` and ``audio_features`` (``metadata``: one id at a time, cached, never fetched twice). HTTP, retries and
backoff are in one helper (``client.call``); OAuth tokens in ``auth``/``tokens``; lapsed authorisations in ``lapse``.
"""
