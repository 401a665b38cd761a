"""The daily refresh: each morning, yesterday and the trailing days whose feedback may still change, in one run."""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    schedule,
)
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from reporting_assets.assets.partitions import daily_partitions
from reporting_assets.settings import env_int

REFRESH_HOUR_UTC = env_int("REPORTING_REFRESH_HOUR_UTC", 6, 0, 23)
REFETCH_DAYS = env_int("REPORTING_REFETCH_DAYS", 3, 0, 366)

daily_refresh_job = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.groups("paradigm_raw", "paradigm_kpis"),
    description="Raw and KPI assets over one date range (a single run, as every asset has a single-run policy).",
)


@schedule(
    job=daily_refresh_job,
    cron_schedule=f"0 {REFRESH_HOUR_UTC} * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description=f"Yesterday plus the {REFETCH_DAYS} days before it (late feedback), raw and KPI assets, one run.",
)
def daily_refresh(context: ScheduleEvaluationContext) -> RunRequest:
    yesterday = context.scheduled_execution_time.date() - timedelta(days=1)
    first = max(yesterday - timedelta(days=REFETCH_DAYS), daily_partitions.start.date())
    start, end = str(first), str(yesterday)
    return RunRequest(
        run_key=f"daily_refresh:{end}",
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
    )
