"""Generated listening workloads for the benchmarks and tests: ``python -m bench.workload generate`` writes them
at any scale as privacy exports, API pages or Bronze rows (the generator is ``ingest.demo``'s), and ``bronze_load``
puts Bronze rows into the lakehouse through Spark Connect, so the 1M/10M builds do not depend on the importer.
"""
