"""Offline evaluation of the Gold Python models: ``python -m ingest.evaluation recommendations|clusters``."""
