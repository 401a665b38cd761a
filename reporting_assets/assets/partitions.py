"""The one daily partitioning every asset shares (UTC days, from `PARADIGM_START_DATE`)."""

from __future__ import annotations

import os
from datetime import date, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition

DEFAULT_START_DATE = "2025-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=os.environ.get("PARADIGM_START_DATE") or DEFAULT_START_DATE)


def partition_dates(context: AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materializes: one day or a whole range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
