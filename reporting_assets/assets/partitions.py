"""The one daily partitioning every asset shares (UTC days, from `PARADIGM_START_DATE`)."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition


def build_partitions(start_date: date) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=start_date.isoformat())


def partition_dates(context: AssetExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materializes: one day or a whole range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
