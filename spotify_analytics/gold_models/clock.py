"""The build time the Gold models write: UTC, without a timezone (the tables' ``timestamp`` columns)."""

from datetime import UTC, datetime

import pandas as pd


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def build_timestamp() -> pd.Timestamp:
    return pd.Timestamp(utc_now())
