"""The data quality gate: Great Expectations suites on Bronze and Silver, run through Spark Connect.

suites.py (what is checked) · expectations.toml + gate_config.py (severities, thresholds) · gx_context.py
(Great Expectations context, checkpoints, Data Docs site) · runner.py (a layer's run) · outcomes.py (results,
summary, exit code) · history.py (quality.validation_results) · docs_assets.py (offline Data Docs) · cli.py.
"""
