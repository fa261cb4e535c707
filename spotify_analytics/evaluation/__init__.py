"""Offline evaluation of the Gold Python models: ``python -m spotify_analytics evaluate recommendations|clusters``."""
