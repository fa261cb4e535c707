"""What a Bronze table declaration holds: its columns (Spark type, description, whether required, valid range,
accepted values), key, partitioning, the time stamp its writes add, where its rows come from and how fresh
dbt expects it. The tables themselves are declared in ``ingest.bronze.schemas``.
"""

from dataclasses import dataclass
from typing import Literal

from ingest.audio_features import audio_features

System = Literal["spotify", "kaggle", "synthetic", "participants"]
BRONZE_DATABASE = "bronze"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Spark SQL type
    description: str
    required: bool = False  # never null: the quality gate checks it
    valid_range: tuple[float, float] | None = None  # inclusive bounds the quality gate checks
    accepted: tuple[str, ...] = ()  # the values it may hold (null aside), when it is a code

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.type}"


@dataclass(frozen=True)
class MonthPartitioning:
    """Partitions by the month of a date column, held in a generated column: writers never set it, and Delta
    prunes months from filters on the date. (Daily partitions gave a personal history thousands of tiny
    files: one 100K-play export spanning six years wrote 2,399 of them in one load.)"""

    column: str  # the generated partition column, after the table's other columns
    date_column: str

    @property
    def column_ddl(self) -> str:
        return f"{self.column} date generated always as (trunc({self.date_column}, 'MM'))"


@dataclass(frozen=True)
class Freshness:
    """How recent dbt expects the newest row to be (``dbt source freshness``), by a column's time."""

    loaded_at_field: str
    warn_after_days: int
    error_after_days: int


@dataclass(frozen=True)
class NotRefreshed:
    """A table with no freshness expectation: it legitimately goes without new rows (``reason``)."""

    reason: str


@dataclass(frozen=True)
class BronzeTable:
    name: str
    system: System  # where its rows come from: the dbt source it is read through
    description: str
    columns: tuple[Column, ...]  # what writers set, in the table's order
    key: tuple[str, ...]
    freshness: Freshness | NotRefreshed
    partitioning: MonthPartitioning | None = None
    stamp: Column = Column("loaded_at", "timestamp", "When the ingester's MERGE last inserted or changed the row.")
    read_by_dbt: bool = True  # a dbt source (a quarantine table is not)
    tested_by_dbt: bool = False  # its dbt source also tests its required columns and accepted values

    @property
    def qualified(self) -> str:
        return f"{BRONZE_DATABASE}.{self.name}"

    @property
    def ddl(self) -> str:
        """The Spark DDL of the columns writers set ("a string, b bigint")."""
        return ", ".join(column.ddl for column in self.columns)

    @property
    def stored_ddl(self) -> str:
        """The DDL of the table as created: the writers' columns and the stamp (a generated partition column aside)."""
        return f"{self.ddl}, {self.stamp.ddl}"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def required(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        """Every column the table holds, in its order: the writers', the stamp, the generated partition column."""
        if self.partitioning is None:
            return (*self.columns, self.stamp)
        partitioning = self.partitioning
        month = Column(
            partitioning.column,
            "date",
            f"First day of the month of `{partitioning.date_column}`, the partition column (a Delta generated "
            f"column: writers leave it out, and filters on `{partitioning.date_column}` prune months).",
        )
        return (*self.columns, self.stamp, month)

    def column(self, name: str) -> Column:
        [found] = [column for column in self.columns if column.name == name]
        return found


def feature_columns(describe: str = "Audio feature") -> tuple[Column, ...]:
    """The audio features (``ingest.audio_features``) as Bronze columns under their Bronze names: continuous
    ones double, categorical ones int, each with its valid range."""
    columns = []
    for feature in audio_features():
        staged = f" (staged as `{feature.name}`)" if feature.name != feature.bronze_name else ""
        valid = f"{feature.unit}, valid from {feature.low:g} to {feature.high:g}"
        column_type = "double" if feature.continuous else "int"
        description = f"{describe} {feature.bronze_name}{staged}: {valid}."
        columns.append(Column(feature.bronze_name, column_type, description, valid_range=(feature.low, feature.high)))
    return tuple(columns)
