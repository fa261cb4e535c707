"""The logic of the Gold dbt Python models (``python_models/gold``), importable and tested on its own.

The dbt model files read their refs and settings through dbt and call these modules; the offline evaluation
(``spotify_analytics.evaluation``) imports them too. Nothing here imports dbt or ``spotify_analytics.cli``: the
``*_spark`` modules hold the Spark DataFrame work, the others plain pandas, numpy and scikit-learn.
"""
