"""The code location's entry point: every asset, check, job, schedule, sensor and resource, built from one
`Settings` read from the environment when Dagster loads it (never at import).

Each domain builds its Dagster objects in its `defs.py` (`build_defs`: assets, checks, jobs, schedules, sensors,
from factories, never module singletons): `assets/`, `alerts/`, `reports/`, `bi/` and `doctor/`. This module merges
them and adds what the whole location shares: the resources and the executor. It is the only module that knows
every other one, and the only one that chooses implementations: the real API or the embedded simulator
(`PARADIGM_BASE_URL=demo`), the channels, the warehouse URL.
"""

from __future__ import annotations

from dagster import Definitions, EnvVar, definitions

from reporting_assets.alerts import defs as alert_defs
from reporting_assets.alerts.notify import Notifier
from reporting_assets.assets import defs as asset_defs
from reporting_assets.bi import defs as bi_defs
from reporting_assets.clock import Clock, utc_now
from reporting_assets.custom_kpis import defs as custom_kpi_defs
from reporting_assets.doctor import defs as doctor_defs
from reporting_assets.executor import build_executor
from reporting_assets.org import defs as org_defs
from reporting_assets.reports import defs as report_defs
from reporting_assets.resources import paradigm_resource, secret
from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse


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
    late = alert_defs.late_data(settings)
    shared = Definitions(
        executor=build_executor(settings),
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
    return Definitions.merge(
        asset_defs.build_defs(settings, late, now),
        alert_defs.build_defs(settings, late, now),
        report_defs.build_defs(settings, now),
        bi_defs.build_defs(settings),
        custom_kpi_defs.build_defs(settings),
        org_defs.build_defs(settings, now),
        doctor_defs.build_defs(),
        shared,
    )


@definitions
def defs() -> Definitions:
    """What Dagster loads (`dagster dev`, `dg`, `-m reporting_assets.definitions`)."""
    return build_definitions(Settings.load())
