"""The daily refresh: each morning, yesterday and the trailing days whose feedback may still change, in one run."""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetSelection,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)

# Dagster's public tag names for a ranged run (dagster._core.storage.tags), spelled here instead of imported.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def build_daily_refresh(partitions: DailyPartitionsDefinition, hour_utc: int, refetch_days: int) -> ScheduleDefinition:
    """The `daily_refresh` schedule (its job: `.job`): at `hour_utc` UTC, yesterday and the `refetch_days` before."""
    job = define_asset_job(
        "daily_refresh",
        selection=AssetSelection.groups("paradigm_raw", "paradigm_kpis"),
        description="Raw and KPI assets over one date range (a single run, as every asset has a single-run policy).",
    )

    @schedule(
        job=job,
        cron_schedule=f"0 {hour_utc} * * *",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=f"Yesterday plus the {refetch_days} days before it (late feedback), raw and KPI assets, one run.",
    )
    def daily_refresh(context: ScheduleEvaluationContext) -> RunRequest:
        yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
        first = max(yesterday - timedelta(days=refetch_days), partitions.start.date())
        start, end = str(first), str(yesterday)
        return RunRequest(run_key=f"daily_refresh:{end}", tags={RANGE_START_TAG: start, RANGE_END_TAG: end})

    return daily_refresh
