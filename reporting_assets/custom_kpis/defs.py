"""The `custom_kpis` asset: the KPIs of `REPORTING_KPIS`, daily-partitioned like the other KPIs (group
`paradigm_kpis`, one run per range, following its inputs). Its code version is the file's definitions: changing a
KPI marks the partitions to recompute; a KPI removed from the file loses its rows at the next run."""

from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AutomationCondition,
    BackfillPolicy,
    Definitions,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from reporting_assets.assets.metadata import preview, report, table_metadata
from reporting_assets.assets.partitions import build_partitions, partition_dates
from reporting_assets.custom_kpis import compute
from reporting_assets.custom_kpis.definition import KpiFile, load
from reporting_assets.lazy import pandas as pd
from reporting_assets.paradigm.resource import date_chunks, row_budget
from reporting_assets.settings import Settings
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import custom_kpis

CHUNK_DAYS = 31  # days computed at once, fewer when companies x KPIs x days would exceed the memory budget


def build_custom_kpis_asset(file: KpiFile, partitions: PartitionsDefinition, memory_budget_mb: int) -> AssetsDefinition:
    """`custom_kpis` for the KPIs of `file`, a chunk of days at a time within `memory_budget_mb`."""
    inputs = compute.inputs(file)
    not_loaded = {"loaded": False, "note": f"not computed: not loaded in every input ({', '.join(inputs)})"}
    listed = "\n".join(f"- `{k.name}`: {k.label_in('en')}" for k in file.kpis)

    @asset(
        name=custom_kpis.name,
        group_name="paradigm_kpis",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        automation_condition=AutomationCondition.eager(),
        deps=inputs,
        code_version=file.digest,
        kinds={"sql", "pandas"},
        description=f"{custom_kpis.comment}, from `{file.path}`:\n\n{listed}\n\nTable `{custom_kpis.name}`.",
        metadata={**table_metadata(custom_kpis), "kpis": ", ".join(file.names())},
    )
    def _custom(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        start, end = partition_dates(context)
        per_day = max(1, len(file.kpis)) * max(1, _companies(warehouse))
        days = max(1, min(CHUNK_DAYS, row_budget(memory_budget_mb) // per_day))
        entries, shown, per_partition = [], "", {}
        with Spool() as spool:  # one chunk in memory at a time; all of them written in one transaction
            for lo, hi in date_chunks(start, end, days):
                rows, computed = compute.chunk(warehouse.engine, file, lo, hi)
                spool.add(rows)
                entries.append(computed)
                shown = shown or (preview(rows) if len(rows) else "")
                per_partition.update(_partition_metadata(rows, computed))
            loaded = ledger.entries(custom_kpis.name, pd.concat(entries, ignore_index=True), context.run.run_id)
            written = warehouse.replace(custom_kpis, start, end, spool, loaded=loaded)
        removed = _remove_others(warehouse, file)
        per_partition = {key: per_partition.get(key, not_loaded) for key in context.partition_keys}
        run = {"run_rows": written, "removed_kpi_rows": removed, "preview": MetadataValue.md(shown or "_no rows_")}
        report(context, per_partition, run)
        return MaterializeResult()

    return _custom


def _companies(warehouse: Warehouse) -> int:
    """Companies of the instance (chat_sessions'), to size the chunks."""
    from sqlalchemy import func, select

    from reporting_assets.warehouse.tables import chat_sessions

    with warehouse.engine.connect() as conn:
        return conn.execute(select(func.count(chat_sessions.c.company_id.distinct()))).scalar_one()


def _partition_metadata(rows: "pd.DataFrame", computed: "pd.DataFrame") -> dict[str, dict[str, Any]]:
    """Each computed day's metadata: its rows, and each KPI summed over companies (a ratio: from its parts)."""
    out = {}
    for day in computed["date"]:
        mine = rows[rows["date"] == day]
        sums = mine.groupby("kpi")[["numerator", "denominator"]].sum(min_count=1)
        values = {
            f"kpi/{name}": round(float(s["numerator"] / s["denominator"]), 4)
            if pd.notna(s["denominator"]) and s["denominator"]
            else round(float(s["numerator"]), 4)
            for name, s in sums.iterrows()
            if pd.isna(s["denominator"]) or s["denominator"]
        }
        out[str(day)] = {"loaded": True, "dagster/row_count": len(mine), **values}
    return out


def _remove_others(warehouse: Warehouse, file: KpiFile) -> int:
    """Delete the rows of KPIs no longer in the file (every day): returns how many went."""
    with warehouse.engine.begin() as conn:
        return conn.execute(custom_kpis.delete().where(custom_kpis.c.kpi.not_in(file.names()))).rowcount


def build_defs(settings: Settings) -> Definitions:
    """The `custom_kpis` asset when `REPORTING_KPIS` is set (validated when the settings were read)."""
    if settings.reporting_kpis is None:
        return Definitions()
    file = load(settings.reporting_kpis)
    partitions = build_partitions(settings.paradigm_start_date)
    return Definitions(assets=[build_custom_kpis_asset(file, partitions, settings.reporting_memory_budget_mb)])
