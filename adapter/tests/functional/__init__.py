"""The adapter's tests: dbt's adapter conformance suite (dbt-tests-adapter) and the adapter's own behaviour, run
against a Spark server with Thrift and Spark Connect (see conftest)."""
