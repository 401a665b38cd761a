"""The warehouse's Dagster definitions: the raw, KPI and per-user assets, their checks, the daily refresh, the
retention job, and the sensors that keep the KPIs following their sources and report late raw data."""

from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.assets.checks import build_freshness, build_table_checks
from reporting_assets.assets.kpis import build_kpi_assets
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.periods import build_period_asset
from reporting_assets.assets.raw import build_raw_assets
from reporting_assets.assets.schedules import build_daily_refresh
from reporting_assets.assets.users import build_retention, build_user_assets
from reporting_assets.clock import Clock
from reporting_assets.settings import Settings


def build_defs(settings: Settings, late_data: Freshness, now: Clock) -> Definitions:
    partitions = build_partitions(settings.paradigm_start_date)
    raw_assets = build_raw_assets(partitions, now)
    refresh = build_daily_refresh(partitions, settings.reporting_refresh_hour_utc, settings.reporting_refetch_days)
    freshness_checks, freshness_sensor = build_freshness(raw_assets, late_data, now)
    # Dagster's own automation sensor is stopped until someone starts it: ours runs from the start, so KPI assets
    # follow their sources (AutomationCondition.eager) as soon as the daemon is up.
    automation = AutomationConditionSensorDefinition(
        "paradigm_automation", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING
    )
    retention_job, retention = build_retention(
        settings.reporting_user_retention_days, settings.reporting_refresh_hour_utc, now
    )
    return Definitions(
        assets=[
            *raw_assets,
            *build_kpi_assets(partitions, settings.reporting_memory_budget_mb),
            build_period_asset(partitions, settings.reporting_memory_budget_mb),
            *build_user_assets(settings.reporting_memory_budget_mb),
        ],
        asset_checks=[*build_table_checks(), *freshness_checks],
        jobs=[refresh.job, retention_job],
        schedules=[refresh, retention],
        sensors=[automation, freshness_sensor],
    )
