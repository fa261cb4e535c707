"""A participant's rows in a Delta table: every row whose text names their pseudonym.

Rows are found by value, not by a list of tables and columns: every string column (and every array or map of
strings) of every table is searched for the pseudonym, as a whole value (``user_id``) or inside one (a
``session_id`` is ``<user_id>-<seconds>``, a quarantined record's ``landing_file`` is
``export/<user_id>/…``, a quality check or a pipeline step may name them in its message). A pseudonym is ``u_``
and 16 hex digits, so it does not occur by chance in a track title or a catalog row.
"""

from typing import TYPE_CHECKING

from spotify_analytics.delta.tables import DeltaTable, drop_cached_copies

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType, StructType


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _names(data_type: "DataType", expression: str, needle: str) -> str | None:
    """A SQL condition true when a value of ``data_type`` holds ``needle``; None for types that hold no text."""
    from pyspark.sql.types import ArrayType, MapType, StringType

    if isinstance(data_type, StringType):
        return f"coalesce(instr({expression}, '{needle}') > 0, false)"
    if isinstance(data_type, ArrayType) and isinstance(data_type.elementType, StringType):
        return f"coalesce(exists({expression}, x -> instr(x, '{needle}') > 0), false)"
    if isinstance(data_type, MapType) and isinstance(data_type.keyType, StringType):
        keys = f"exists(map_keys({expression}), x -> instr(x, '{needle}') > 0)"
        if isinstance(data_type.valueType, StringType):
            keys += f" or exists(map_values({expression}), x -> instr(x, '{needle}') > 0)"
        return f"coalesce({keys}, false)"
    return None


def naming_condition(schema: "StructType", pseudonym: str) -> str | None:
    """The condition selecting the rows that name ``pseudonym`` in any text column; None when the table has none."""
    if "'" in pseudonym or "\\" in pseudonym:
        raise ValueError(f"not a pseudonym: {pseudonym!r}")
    conditions = [
        condition
        for field in schema.fields
        if (condition := _names(field.dataType, _quoted(field.name), pseudonym)) is not None
    ]
    return " or ".join(conditions) if conditions else None


def rows_naming(spark: "SparkSession", table: DeltaTable, pseudonym: str) -> int:
    """How many rows of the table's latest version name the pseudonym."""
    condition = naming_condition(table.schema(spark), pseudonym)
    if condition is None:
        return 0
    return int(spark.sql(f"select count(*) as n from {table.sql} where {condition}").collect()[0]["n"])


def delete_rows_naming(spark: "SparkSession", table: DeltaTable, pseudonym: str) -> None:
    """Delete the rows naming the pseudonym from the table's latest version."""
    condition = naming_condition(table.schema(spark), pseudonym)
    if condition is not None:
        spark.sql(f"delete from {table.sql} where {condition}").collect()
        drop_cached_copies(spark, table.sql)
        if "." in table.name and spark.catalog.tableExists(table.name):
            drop_cached_copies(spark, table.name)  # a copy cached by name is not always matched by path
