"""Fingerprints of what a Gold Python model was built on, so a build can keep what its inputs left unchanged.

A model stores the fingerprint of its inputs and settings on every row it writes (a `fitted_on` column); a
later build that computes the same fingerprint knows those rows are still what a rebuild would give.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def content_fingerprint(frame: "DataFrame", columns: list[str]) -> str:
    """The frame's row count and the XOR of its rows' hashes over ``columns``: the same for the same rows in
    any order, different (but for a 64-bit hash collision) when a row is added, removed or changed."""
    from pyspark.sql import functions as F

    row = frame.agg(F.count(F.lit(1)).alias("rows"), F.bit_xor(F.xxhash64(*columns)).alias("content")).first()
    return f"{row.rows} rows, content {row.content}"


def fitted_on(built: "DataFrame") -> set[str | None]:
    """The fingerprints a built table's rows carry (empty for an empty table; {None} for rows written by a
    version without the column)."""
    if "fitted_on" not in built.columns:
        return {None}
    return {row.fitted_on for row in built.select("fitted_on").distinct().collect()}
