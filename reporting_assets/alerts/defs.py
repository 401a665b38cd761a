"""The alerts' Dagster definitions: the `kpi_alerts` sensor (rules and late data), the run-failure sensor, and
the `alert_events` asset they report on."""

from __future__ import annotations

from dagster import Definitions

from reporting_assets.alerts.freshness import Freshness
from reporting_assets.alerts.rules import check_org_data, load_rules
from reporting_assets.alerts.sensors import alert_events_spec, build_alert_sensor, build_run_failure_sensor
from reporting_assets.clock import Clock
from reporting_assets.custom_kpis import definition as kpi_file
from reporting_assets.i18n import Language
from reporting_assets.settings import Settings
from reporting_assets.warehouse.tables import RAW_TABLES


def late_data(settings: Settings) -> Freshness:
    """Yesterday's raw data missing at the freshness hour: notified once per asset, and once more when it arrives
    (the alert sensor); the raw assets' freshness checks say the same."""
    return Freshness(
        assets=tuple(RAW_TABLES),
        hour_utc=settings.reporting_freshness_hour_utc,
        first_day=settings.paradigm_start_date,
        company_scope=settings.paradigm_company_id,
    )


def build_defs(settings: Settings, late: Freshness, now: Clock) -> Definitions:
    path = settings.reporting_alert_rules
    rules = check_org_data(load_rules(path, kpi_file.of(settings.reporting_kpis)), path, settings.reporting_org_data)
    lang = Language(settings.reporting_language)
    interval = settings.reporting_alert_interval_s
    alerts = build_alert_sensor(rules, lang, interval, late_data=late, now=now)
    return Definitions(
        assets=[alert_events_spec({r.asset for r in rules.rules})],
        sensors=[alerts, build_run_failure_sensor(lang, settings.redactor(), now)],
    )
