"""The `usage_dashboard` asset: the HTML dashboard rewritten whenever a KPI table changes."""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)

from reporting_assets.clock import Clock, utc_now
from reporting_assets.custom_kpis.definition import KpiFile
from reporting_assets.i18n import Language
from reporting_assets.reports import store
from reporting_assets.reports.dashboard import FILE_NAME, render
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, PERIOD_TABLES, custom_kpis

# After any KPI partition changes, once no KPI run is in progress (a backfill renders it once, at its end).
AFTER_KPIS = (
    AutomationCondition.any_deps_updated().since_last_handled()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
).with_label("after_kpis_change")


def build_usage_dashboard(
    reports_dir: str,
    reports_url: str | None,
    user_lists: bool,
    lang: Language,
    kpis: KpiFile,
    now: Clock = utc_now,
) -> AssetsDefinition:
    """The asset writing `reports_dir/usage_dashboard.html`, a directory or an object store URL (`store.py`),
    linked under `reports_url` when set; per-user lists only with `user_lists` (`REPORTING_USER_LISTS`); CSVs for a
    spreadsheet in `lang`; a section for the KPIs of `kpis` (REPORTING_KPIS), after `custom_kpis` when any."""

    @asset(
        name="usage_dashboard",
        group_name="paradigm_reports",
        deps=[*KPI_TABLES, *PERIOD_TABLES, *([custom_kpis.name] if kpis.kpis else [])],
        automation_condition=AFTER_KPIS,
        backfill_policy=BackfillPolicy.single_run(),  # in the CLI's ranged runs: once, after the KPIs
        kinds={"html"},
        description="Usage dashboard, one self-contained HTML file that opens offline: "
        f"`{store.shown(reports_dir).rstrip('/')}/{FILE_NAME}`. "
        "Headline figures against the period before; request volume, satisfaction, active users and adoption over "
        "the loaded history (days not loaded are gaps), for all companies and each one picked; weekly figures, top "
        "tools and documents, open and recent alerts, your own KPIs, each downloadable as CSV.",
    )
    def usage_dashboard(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        dashboard = render(warehouse.engine, now(), user_lists, lang, kpis)
        path, size = store.write(reports_dir, FILE_NAME, dashboard.html)
        context.log.info(f"usage_dashboard: {path} ({size / 1e6:.2f} MB), {dashboard.first}..{dashboard.last}")
        metadata = {
            "path": MetadataValue.path(path),
            "size_mb": round(size / 1e6, 3),
            "first_day": str(dashboard.first or ""),
            "last_day": str(dashboard.last or ""),
            "days_not_loaded": dashboard.missing_days,
            "headline": MetadataValue.md(dashboard.headline),
        }
        if reports_url:
            metadata["url"] = MetadataValue.url(f"{reports_url.rstrip('/')}/{FILE_NAME}")
        return MaterializeResult(metadata=metadata)

    return usage_dashboard
