"""Realistic, deterministic listening workloads for tests and benchmarks.

``catalog`` builds the track universe (real Kaggle tracks plus a majority of synthetic ones),
``listening`` simulates each listener's plays, ``writers`` writes them as privacy exports, API pages or
Bronze rows, ``bronze_load`` puts Bronze rows into the lakehouse through Spark Connect.
"""
