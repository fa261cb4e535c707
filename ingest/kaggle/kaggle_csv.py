"""Read and validate a Kaggle-format catalog CSV.

Loads: every row of the file (a full snapshot; the file is re-read on each load).
Key: ``catalog_row_id``, the original dataset's row index (the unnamed first column), stable between
the published 10K sample and the full 114K file. Rows that fail validation are returned apart with
the reason, never dropped silently.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ingest.kaggle.schema import (
    BOOLEAN_COLUMNS,
    CSV_COLUMNS,
    FLOAT_COLUMNS,
    INTEGER_COLUMNS,
    TEXT_COLUMNS,
    VALID_RANGES,
)

PRIMARY_KEY = "catalog_row_id"
TRACK_ID_PATTERN = re.compile(r"^[0-9A-Za-z]{22}$")
INDEX_HEADERS = ("", "Unnamed: 0")


class CatalogFormatError(ValueError):
    """The file is not a Kaggle-format catalog CSV; the message says what is wrong."""


@dataclass(frozen=True)
class ParsedCatalog:
    rows: pd.DataFrame
    rejected: pd.DataFrame  # columns: catalog_row_id, line_number, raw_record, reason


def read_raw(path: Path) -> pd.DataFrame:
    """The CSV as text cells, header checked; ``line_number`` is the 1-based line in the file."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except pd.errors.ParserError as exc:
        raise CatalogFormatError(f"{path}: not a readable CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise CatalogFormatError(f"{path}: the file is empty") from None
    first = raw.columns[0]
    if first.startswith("Unnamed: ") or first == "":
        raw = raw.rename(columns={first: PRIMARY_KEY})
    missing = [c for c in (PRIMARY_KEY, *CSV_COLUMNS) if c not in raw.columns]
    if missing:
        raise CatalogFormatError(f"{path}: missing columns {', '.join(missing)}")
    raw.insert(0, "line_number", range(2, len(raw) + 2))
    return raw


def _row_reasons(raw: pd.DataFrame, typed: pd.DataFrame) -> pd.Series:
    """One reason string per row ('' when the row is valid)."""
    reasons = pd.Series([""] * len(raw), index=raw.index, dtype=object)

    def flag(mask: pd.Series, text: str) -> None:
        reasons.loc[mask & (reasons == "")] = text

    flag(~raw[PRIMARY_KEY].str.fullmatch(r"\d+"), "catalog index is not a whole number")
    flag(~raw["track_id"].str.match(TRACK_ID_PATTERN), "track_id is not a 22-character Spotify id")
    for column in (*INTEGER_COLUMNS, *FLOAT_COLUMNS):
        flag(typed[column].isna(), f"{column} is not a number: '{{value}}'")
    flag(~raw["explicit"].isin(["True", "False", "true", "false"]), "explicit is not True/False")
    for column, (low, high) in VALID_RANGES.items():
        flag(~typed[column].between(low, high) & typed[column].notna(), f"{column} outside [{low}, {high}]")
    # Fill the offending value into 'is not a number' reasons.
    for column in (*INTEGER_COLUMNS, *FLOAT_COLUMNS):
        mask = reasons == f"{column} is not a number: '{{value}}'"
        reasons.loc[mask] = [f"{column} is not a number: {value!r}" for value in raw.loc[mask, column]]
    return reasons


def _typed(raw: pd.DataFrame) -> pd.DataFrame:
    typed = pd.DataFrame(index=raw.index)
    typed[PRIMARY_KEY] = pd.to_numeric(raw[PRIMARY_KEY], errors="coerce")
    for column in TEXT_COLUMNS:
        typed[column] = raw[column].where(raw[column] != "", None)
    for column in (*INTEGER_COLUMNS, *FLOAT_COLUMNS):
        typed[column] = pd.to_numeric(raw[column], errors="coerce")
    for column in BOOLEAN_COLUMNS:
        typed[column] = raw[column].str.lower() == "true"
    return typed


def row_hash(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A stable content hash per row, so an unchanged row is not rewritten on reload."""
    joined = frame[columns].astype(str).agg("\x1f".join, axis=1)
    return joined.map(lambda text: hashlib.sha256(text.encode()).hexdigest()[:32])


def parse_catalog(raw: pd.DataFrame, catalog_source: str, source_file: str) -> ParsedCatalog:
    typed = _typed(raw)
    reasons = _row_reasons(raw, typed)
    duplicated = typed[PRIMARY_KEY].duplicated(keep="first") & (reasons == "")
    reasons.loc[duplicated] = "duplicate catalog index (first occurrence kept)"
    ok = reasons == ""
    rows = typed.loc[ok].copy()
    for column in (PRIMARY_KEY, *INTEGER_COLUMNS):
        rows[column] = rows[column].astype("int64")
    rows["catalog_source"] = catalog_source
    rows["source_file"] = source_file
    rows["row_hash"] = row_hash(rows, [PRIMARY_KEY, *CSV_COLUMNS, "catalog_source"])
    rejected = pd.DataFrame(
        {
            "line_number": raw.loc[~ok, "line_number"].astype("int64"),
            "raw_record": raw.loc[~ok].drop(columns="line_number").to_json(orient="records", lines=True).splitlines()
            if (~ok).any()
            else [],
            "reason": reasons.loc[~ok],
        }
    )
    rejected["catalog_source"] = catalog_source
    rejected["source_file"] = source_file
    return ParsedCatalog(rows=rows.reset_index(drop=True), rejected=rejected.reset_index(drop=True))


def read_catalog(path: Path, catalog_source: str = "kaggle") -> ParsedCatalog:
    return parse_catalog(read_raw(path), catalog_source, str(path))
