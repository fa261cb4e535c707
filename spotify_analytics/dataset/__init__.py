"""The dataset a study team analyses: Silver and Gold as Parquet and CSV files, with a codebook and a manifest
(``export``), taken from the dbt docs (``codebook``), without direct identifiers (``identifiers``)."""
