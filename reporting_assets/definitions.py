"""Assembles the code location: assets, checks, sensors and resources, configured from the environment."""

from __future__ import annotations

import os

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions, EnvVar

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.alerts.notify import DEFAULT_UI_URL, Notifier
from reporting_assets.alerts.rules import load_rules
from reporting_assets.alerts.sensors import build_alert_sensor, run_failure_alerts
from reporting_assets.assets.checks import FRESHNESS_HOUR_UTC, freshness_checks, freshness_sensor, table_checks
from reporting_assets.assets.kpis import kpi_assets
from reporting_assets.assets.partitions import daily_partitions
from reporting_assets.assets.raw import raw_assets
from reporting_assets.assets.schedules import daily_refresh, daily_refresh_job
from reporting_assets.executor import executor
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.warehouse.store import Warehouse, default_database_url


def _env(name: str) -> EnvVar | str:
    """An EnvVar when set (its value never appears in the UI or run config), else an empty string."""
    return EnvVar(name) if os.environ.get(name) else ""


def _company_id() -> int | None:
    value = os.environ.get("PARADIGM_COMPANY_ID", "").strip()
    if value and not value.isdigit():
        raise ValueError(f"PARADIGM_COMPANY_ID must be a company id (an integer), got {value!r}")
    return int(value) if value else None


# Dagster's own automation sensor is stopped until someone starts it: ours runs from the start, so KPI assets
# follow their sources (AutomationCondition.eager) as soon as the daemon is up.
automation = AutomationConditionSensorDefinition(
    "paradigm_automation", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING
)

company_id = _company_id()
# Yesterday's raw data missing at the freshness hour is notified once per asset, and once more when it arrives.
late_data = Freshness(
    assets=tuple(a.key.path[-1] for a in raw_assets),
    hour_utc=FRESHNESS_HOUR_UTC,
    first_day=daily_partitions.start.date(),
    company_scope=company_id,
)

defs = Definitions(
    assets=[*raw_assets, *kpi_assets],
    asset_checks=[*table_checks, *freshness_checks],
    jobs=[daily_refresh_job],
    executor=executor,
    schedules=[daily_refresh],
    sensors=[automation, freshness_sensor, build_alert_sensor(load_rules(), late_data=late_data), run_failure_alerts],
    resources={
        "paradigm": ParadigmResource(
            base_url=_env("PARADIGM_BASE_URL"),
            api_key=_env("PARADIGM_API_KEY"),
            company_id=company_id,
        ),
        "warehouse": Warehouse(url=_env("REPORTING_DATABASE_URL") or default_database_url()),
        "notifier": Notifier(
            urls=_env("REPORTING_ALERT_URLS"), ui_url=os.environ.get("REPORTING_UI_URL") or DEFAULT_UI_URL
        ),
    },
)
