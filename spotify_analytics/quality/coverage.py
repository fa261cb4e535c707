"""Silver's feature coverage, summarised on the server in one pass over the table: per listener, the plays and the
listening time, in all and with audio features, and the plays per feature source. The checks then run on two small
frames made from that summary: the table's shares (one row) and each listener's (one row per listener).

Coverage is about the whole table, so the summary reads every row: one scan for both suites, where the shares' checks
on the table's rows and the listeners' summary took one each.
"""

from typing import TYPE_CHECKING

from spotify_analytics.quality.suites import FEATURE_SOURCES

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession


def coverage_summary(spark: "SparkSession", table: str) -> "pd.DataFrame":
    """One row per listener of ``table`` (rows without a listener in a row of their own, ``user_id`` null): ``plays``,
    ``featured_plays``, ``plays_<source>`` for each feature source, ``ms_played`` and ``featured_ms``."""
    per_source = "".join(f"count_if(feature_source = '{source}') as plays_{source}, " for source in FEATURE_SOURCES)
    return spark.sql(
        f"""
        select user_id, count(*) as plays, count(feature_source) as featured_plays, {per_source}
               sum(ms_played) as ms_played,
               sum(case when feature_source is not null then ms_played else 0 end) as featured_ms
        from {table}
        group by user_id
        order by user_id
        """
    ).toPandas()


def table_shares(spark: "SparkSession", summary: "pd.DataFrame") -> "DataFrame":
    """The table's shares of plays as a one-row Spark DataFrame (so Great Expectations finds the checks' data asset
    where earlier runs stored it, on its Spark datasource): ``coverage_overall`` (with features) and
    ``coverage_<source>`` for each feature source. No row for a table without rows: nothing to measure."""
    plays = int(summary["plays"].sum())
    columns = {"coverage_overall": "featured_plays"} | {
        f"coverage_{source}": f"plays_{source}" for source in FEATURE_SOURCES
    }
    rows = [tuple(float(summary[counted].sum()) / plays for counted in columns.values())] if plays else []
    return spark.createDataFrame(rows, schema=", ".join(f"{name} double" for name in columns))


def listener_shares(summary: "pd.DataFrame") -> "pd.DataFrame":
    """One row per listener: the summary's counts and the shares ``coverage_plays`` and ``coverage_minutes`` (NaN
    for a listener whose plays all lasted 0 ms)."""
    frame = summary[summary["user_id"].notna()].reset_index(drop=True)
    frame["coverage_plays"] = frame["featured_plays"] / frame["plays"]
    frame["coverage_minutes"] = (frame["featured_ms"] / frame["ms_played"].where(frame["ms_played"] > 0)).astype(float)
    return frame
