"""The BI contract's Dagster assets: `bi_contract` publishes the views (when missing, and again whenever their
definition changes: its code version is the generated SQL's), `bi_extracts` writes the Parquet (and Tableau)
extracts after the KPIs change."""

import hashlib
from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    DagsterInstance,
    Definitions,
    MaterializeResult,
    MetadataValue,
    TableSchemaMetadataValue,
    asset,
)

from reporting_assets.bi import extracts
from reporting_assets.bi.contract import VERSION, VIEWS
from reporting_assets.bi.publish import publish
from reporting_assets.bi.views import SNIPPETS, select_sql
from reporting_assets.reports import store
from reporting_assets.reports.usage_dashboard import AFTER_KPIS
from reporting_assets.settings import Settings
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, PERIOD_TABLES, RAW_TABLES, USER_TABLES

GROUP = "paradigm_bi"
SOURCES = [*KPI_TABLES, *PERIOD_TABLES, *USER_TABLES]


def code_version(user_lists: bool, first_day: date) -> str:
    """Changes with the views' SQL on any database (and with the per-user view's presence)."""
    sql = [select_sql(v, dialect, "bi", first_day) for dialect in SNIPPETS for v in VIEWS.values()]
    digest = hashlib.sha256("\n".join([str(VERSION), str(user_lists), *sql]).encode()).hexdigest()
    return f"v{VERSION}-{digest[:12]}"


def api_docs(instance: DagsterInstance) -> dict[str, str]:
    """The API's own field descriptions by "<raw table>.<column>", as the raw assets' latest materializations
    recorded them (their column schema: the `metadata` block's description and unit, else ours)."""
    out = {}
    for name in RAW_TABLES:
        event = instance.get_latest_materialization_event(AssetKey(name))
        materialization = event.asset_materialization if event else None
        schema = materialization.metadata.get("dagster/column_schema") if materialization else None
        if isinstance(schema, TableSchemaMetadataValue):
            out.update({f"{name}.{c.name}": c.description for c in schema.schema.columns if c.description})
    return out


def build_bi_assets(reports_dir: str, first_day: date, user_lists: bool) -> list[AssetsDefinition]:
    """`bi_contract`, and `bi_extracts` (with the `.[parquet]` extra) for reports under `reports_dir`; a calendar
    from `first_day` (the first partition), the per-user view with `user_lists` (`REPORTING_USER_LISTS`)."""

    @asset(
        name="bi_contract",
        group_name=GROUP,
        deps=SOURCES,
        code_version=code_version(user_lists, first_day),
        automation_condition=(AutomationCondition.missing() | AutomationCondition.code_version_changed())
        & ~AutomationCondition.in_progress(),
        kinds={"sql"},
        description=f"The BI contract v{VERSION}: views for Power BI, Tableau, Looker and Superset "
        f"({', '.join(VIEWS)}), each column described; on PostgreSQL in their own schema, readable by the roles "
        "of `python -m reporting_assets.bi grant`. Published when missing and whenever its definition changes.",
    )
    def bi_contract(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        done = publish(warehouse.engine, user_lists, first_day, api_docs(context.instance))
        context.log.info(f"bi_contract v{VERSION}: {len(done.views)} views, {len(done.readers)} reader role(s)")
        return MaterializeResult(
            metadata={
                "version": VERSION,
                "schema": done.schema or "main",
                "views": MetadataValue.json(done.views),
                "readers": MetadataValue.json([str(r) for r in done.readers]),
            }
        )

    @asset(
        name="bi_extracts",
        group_name=GROUP,
        deps=["bi_contract", *SOURCES],
        automation_condition=AFTER_KPIS,
        backfill_policy=BackfillPolicy.single_run(),
        kinds={"parquet"},
        description=f"The BI contract as files: `{store.shown(reports_dir).rstrip('/')}/{extracts.folder()}/`, one "
        "Parquet file per view in a folder of its own (Power BI's folder connector, any Parquet reader), and "
        f"`{extracts.HYPER_FILE}` for Tableau with the `.[tableau]` extra. Rewritten after the KPIs change.",
    )
    def bi_extracts(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        written = extracts.write_extracts(warehouse.engine, reports_dir, user_lists)
        for extract in written:
            context.log.info(f"bi_extracts: {extract.path} ({extract.rows} rows)")
        return MaterializeResult(
            metadata={
                "folder": MetadataValue.path(store.where(reports_dir, extracts.folder())),
                "rows": MetadataValue.json({e.view: e.rows for e in written if e.view != "*"}),
                "tableau": extracts.hyper_available(),
            }
        )

    return [bi_contract, bi_extracts] if extracts.available() else [bi_contract]


def build_defs(settings: Settings) -> Definitions:
    user_lists = settings.reporting_user_lists == "on"
    return Definitions(assets=build_bi_assets(settings.reports_dir, settings.paradigm_start_date, user_lists))
