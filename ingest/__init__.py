"""The ingester: one package per source (``spotify`` Web API, ``export`` privacy export, ``kaggle`` catalog,
``synthetic`` features, ``demo`` generated listener) lands raw data, ``landing`` keeps it, ``bronze`` loads it into
Bronze Delta tables through ``lakehouse.client``. Settings for everything are ``config``.
"""
