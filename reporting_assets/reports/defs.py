"""The reports' Dagster definitions: the `usage_dashboard` asset, and the weekly digest's job and schedule."""

from __future__ import annotations

from dagster import Definitions

from reporting_assets.clock import Clock
from reporting_assets.custom_kpis import definition as kpi_file
from reporting_assets.i18n import Language
from reporting_assets.reports.usage_dashboard import build_usage_dashboard
from reporting_assets.reports.weekly_digest import build_weekly_digest
from reporting_assets.settings import Settings


def build_defs(settings: Settings, now: Clock) -> Definitions:
    lang, kpis = Language(settings.reporting_language), kpi_file.of(settings.reporting_kpis)
    lists = settings.reporting_user_lists == "on"
    dashboard = build_usage_dashboard(settings.reports_dir, settings.reporting_reports_url, lists, lang, kpis, now)
    digest_job, digest = build_weekly_digest(
        settings.reporting_digest_hour_utc, settings.reporting_reports_url, lang, kpis, now
    )
    return Definitions(assets=[dashboard], jobs=[digest_job], schedules=[digest])
