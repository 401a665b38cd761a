"""The code location's entry point: every asset, check, job, schedule, sensor and resource, built from one
`Settings` read from the environment when Dagster loads it (never at import).

This is the only module that knows every other one, and the only one that chooses implementations: the real
API or the embedded simulator (`PARADIGM_BASE_URL=demo`), the channels, the warehouse URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    definitions,
)

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import load_rules
from reporting_assets.alerts.sensors import alert_events_spec, build_alert_sensor, build_run_failure_sensor
from reporting_assets.assets.checks import build_freshness, table_checks
from reporting_assets.assets.kpis import build_kpi_assets
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.raw import build_raw_assets
from reporting_assets.assets.schedules import build_daily_refresh
from reporting_assets.assets.users import build_retention, build_user_assets
from reporting_assets.bi.defs import build_bi_assets
from reporting_assets.clock import Clock, utc_now
from reporting_assets.doctor import build_doctor_job
from reporting_assets.executor import build_executor
from reporting_assets.reports.usage_dashboard import build_usage_dashboard
from reporting_assets.reports.weekly_digest import build_weekly_digest
from reporting_assets.resources import paradigm_resource, secret
from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse

if TYPE_CHECKING:
    pass


def _digest_notifier(settings: Settings) -> Notifier:
    """The digest's channels: `REPORTING_DIGEST_URLS` when set, else the alerts' own."""
    if settings.reporting_digest_urls:
        return Notifier(
            urls=EnvVar("REPORTING_DIGEST_URLS"), ui_url=settings.reporting_ui_url, variable="REPORTING_DIGEST_URLS"
        )
    return Notifier(
        urls=secret("REPORTING_ALERT_URLS", settings.reporting_alert_urls), ui_url=settings.reporting_ui_url
    )


def build_definitions(settings: Settings, now: Clock = utc_now) -> Definitions:
    """The whole code location for `settings`; tests build theirs from a `Settings` (and a clock) of their own."""
    partitions = build_partitions(settings.paradigm_start_date)
    raw_assets = build_raw_assets(partitions, now)

    refresh = build_daily_refresh(partitions, settings.reporting_refresh_hour_utc, settings.reporting_refetch_days)
    # Yesterday's raw data missing at the freshness hour is notified once per asset, and once more when it arrives.
    late_data = Freshness(
        assets=tuple(a.key.path[-1] for a in raw_assets),
        hour_utc=settings.reporting_freshness_hour_utc,
        first_day=settings.paradigm_start_date,
        company_scope=settings.paradigm_company_id,
    )
    freshness_checks, freshness_sensor = build_freshness(raw_assets, late_data, now)
    # Dagster's own automation sensor is stopped until someone starts it: ours runs from the start, so KPI assets
    # follow their sources (AutomationCondition.eager) as soon as the daemon is up.
    automation = AutomationConditionSensorDefinition(
        "paradigm_automation", target=AssetSelection.all(), default_status=DefaultSensorStatus.RUNNING
    )
    rules = load_rules(settings.reporting_alert_rules)
    alerts = build_alert_sensor(rules, late_data=late_data, now=now, interval_s=settings.reporting_alert_interval_s)
    dashboard = build_usage_dashboard(
        settings.reports_dir, settings.reporting_reports_url, now, settings.reporting_user_lists == "on"
    )
    retention_job, retention = build_retention(
        settings.reporting_user_retention_days, settings.reporting_refresh_hour_utc, now
    )
    digest_job, digest = build_weekly_digest(settings.reporting_digest_hour_utc, settings.reporting_reports_url, now)
    return Definitions(
        assets=[
            *raw_assets,
            *build_kpi_assets(partitions, settings.reporting_memory_budget_mb),
            *build_user_assets(settings.reporting_memory_budget_mb),
            dashboard,
            *build_bi_assets(settings.reports_dir, settings.paradigm_start_date, settings.reporting_user_lists == "on"),
            alert_events_spec({r.asset for r in rules.rules}),
        ],
        asset_checks=[*table_checks, *freshness_checks],
        jobs=[refresh.job, digest_job, retention_job, build_doctor_job()],
        executor=build_executor(settings),
        schedules=[refresh, digest, retention],
        sensors=[automation, freshness_sensor, alerts, build_run_failure_sensor(now, settings.redactor())],
        resources={
            "paradigm": paradigm_resource(settings),
            "warehouse": Warehouse(
                url=EnvVar("REPORTING_DATABASE_URL") if settings.reporting_database_url else settings.database_url
            ),
            "notifier": Notifier(
                urls=secret("REPORTING_ALERT_URLS", settings.reporting_alert_urls), ui_url=settings.reporting_ui_url
            ),
            "digest_notifier": _digest_notifier(settings),
        },
    )


@definitions
def defs() -> Definitions:
    """What Dagster loads (`dagster dev`, `dg`, `-m reporting_assets.definitions`)."""
    return build_definitions(Settings.load())
