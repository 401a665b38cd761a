"""Derived daily KPI assets, computed from the warehouse's raw tables (never by re-querying the API)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    AutomationCondition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
)
from sqlalchemy import DateTime, Table, func, select

from reporting_assets.assets import kpi_frames
from reporting_assets.assets.metadata import preview, report, table_metadata
from reporting_assets.assets.partitions import partition_dates
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import RATIOS
from reporting_assets.paradigm.resource import date_chunks, row_budget
from reporting_assets.warehouse import company_ranges, ledger, tables
from reporting_assets.warehouse.company_ranges import EVERY_COMPANY, Companies
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse

CHUNK_DAYS = 31  # KPI days computed at once when the inputs are large: memory is bounded by one chunk
CHUNK_ROWS = 200_000  # inputs smaller than this over the whole range are computed in one chunk


@dataclass(frozen=True)
class Kpi:
    table: Table
    inputs: dict[str, int]  # raw table -> trailing days it needs before each partition
    compute: Callable[..., "pd.DataFrame"]  # (**input frames by table name, loaded, start, end, columns)
    summary: Callable[["pd.DataFrame"], dict[str, Any]]  # one day's totals (`totals`) -> that partition's metadata
    summed: tuple[str, ...]  # columns the summary adds up, over companies and over `by`
    by: tuple[str, ...] = ()  # columns the summary looks inside a day by (the top tool's name)
    optional: tuple[str, ...] = ()  # raw tables read for the same days when there, never required loaded


def _number_or_none(value: float) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


def _adoption_summary(day: "pd.DataFrame") -> dict[str, Any]:
    totals = day[RATIOS["satisfaction_rate"].parts].sum().to_frame().T
    return {
        "sessions": int(day["sessions_count"].sum()),
        "user_queries": int(day["user_queries_count"].sum()),
        "satisfaction_rate": _number_or_none(RATIOS["satisfaction_rate"].of(totals).iloc[0]),
    }


def _top(day: "pd.DataFrame", kind: str) -> str:
    used = day[day["resource_type"] == kind].groupby("resource_name")["usage_count"].sum()
    return str(used.idxmax()) if len(used) else "none"


def _resource_summary(day: "pd.DataFrame") -> dict[str, Any]:
    by_type = day.groupby("resource_type")["usage_count"].sum()
    return {
        "tool_uses": int(by_type.get("tool", 0)),
        "document_uses": int(by_type.get("document", 0)),
        "top_tool": _top(day, "tool"),
        "top_document": _top(day, "document"),
    }


def _user_summary(day: "pd.DataFrame") -> dict[str, Any]:
    return {
        "active_users": int(day["active_users"].sum()),
        "active_users_30d": int(day["active_users_30d"].sum()),
    }


KPIS = (
    Kpi(
        tables.adoption_satisfaction,
        {"chat_sessions": kpi_frames.ADOPTION_LOOKBACK_DAYS, "chat_feedbacks": kpi_frames.ADOPTION_LOOKBACK_DAYS},
        kpi_frames.adoption_satisfaction,
        _adoption_summary,
        summed=("sessions_count", "user_queries_count", *RATIOS["satisfaction_rate"].parts),
    ),
    Kpi(
        tables.resource_usage,
        {"used_documents": 0, "tools_usage": 0},
        kpi_frames.resource_usage,
        _resource_summary,
        summed=("usage_count",),
        by=("resource_type", "resource_name"),
    ),
    Kpi(
        tables.user_activity,
        {"user_activities": kpi_frames.USER_LOOKBACK_DAYS, "chat_sessions": 0},
        kpi_frames.user_activity,
        _user_summary,
        summed=("active_users", "active_users_30d"),
        optional=("company_members",),
    ),
)


def totals(kpi: Kpi, frames: list["pd.DataFrame"]) -> "pd.DataFrame":
    """The `summed` columns and the row count (`rows`) per date (and `by`) over KPI rows or over totals already
    taken: what the partitions' summaries read, added up over the company ranges of a chunk."""
    by = ["date", *kpi.by]
    rows = pd.concat([f if "rows" in f.columns else f.assign(rows=1) for f in frames], ignore_index=True)
    return rows.groupby(by, dropna=False)[[*kpi.summed, "rows"]].sum().reset_index()


def _rows_per_entry(sizes: "pd.Series", entries: "pd.DataFrame") -> list[int]:
    """KPI rows each ledger entry covers: the day's rows, or the day's rows of its company (`sizes`: rows per
    date and company_id)."""
    if not len(sizes):
        return [0] * len(entries)
    per_day = sizes.groupby(level="date").sum()
    return [
        int(per_day.get(day, 0)) if pd.isna(scope) else int(sizes.get((day, int(scope)), 0))
        for day, scope in zip(entries["date"], entries["company_scope"], strict=True)
    ]


def _read(warehouse: Warehouse, name: str, start: date, end: date, companies: Companies) -> "pd.DataFrame":
    """Raw rows of `name` for `start..end` and `companies`, timestamps aside."""
    table = tables.RAW_TABLES[name]
    columns = [c.name for c in table.columns if not isinstance(c.type, DateTime)]
    return warehouse.read(table, start, end, columns, company_ranges.clause(table.c.company_id, companies))


def _company_rows(kpi: Kpi, warehouse: Warehouse, first: date, end: date) -> "pd.Series":
    """Rows of the KPI's inputs over `first..end` per company_id, in id order."""
    counts = []
    with warehouse.engine.connect() as conn:
        for name in kpi.inputs:
            table = tables.RAW_TABLES[name]
            query = select(table.c.company_id, func.count()).where(table.c.date.between(first, end))
            counts += conn.execute(query.group_by(table.c.company_id)).all()
    frame = pd.DataFrame(counts, columns=["company_id", "rows"], dtype="int64")
    return frame.groupby("company_id")["rows"].sum().sort_index()


@dataclass(frozen=True)
class Plan:
    """How a KPI's range is computed: `days` at a time, each chunk once per range of `companies`."""

    days: int
    companies: list[Companies]


def plan(kpi: Kpi, warehouse: Warehouse, start: date, end: date, budget: int = CHUNK_ROWS) -> Plan:
    """The whole range at once when its inputs hold fewer than `CHUNK_ROWS` rows and fit `budget` (a small
    tenant's year: one chunk, not 12). Else as many days (at most `CHUNK_DAYS`, at least the lookback's length:
    below, each chunk reads its lookback again for little memory saved) as `budget` rows hold at the inputs'
    average rows a day, and, where that is still over `budget` (many companies), the companies in ranges that
    each fit it: memory is bounded by the budget, whatever the number of companies."""
    lookback = max(kpi.inputs.values())
    first = start - timedelta(days=lookback)
    per_company = _company_rows(kpi, warehouse, first, end)
    rows = int(per_company.sum())
    if rows < min(CHUNK_ROWS, budget):
        return Plan((end - start).days + 1, [EVERY_COMPANY])
    span = (end - first).days + 1
    days = max(min(lookback + 1, CHUNK_DAYS), min(CHUNK_DAYS, int(budget * span / rows) - lookback), 1)
    return Plan(days, company_ranges.split(per_company * (days + lookback) / span, budget))


def chunks(
    kpi: Kpi,
    warehouse: Warehouse,
    start: date,
    end: date,
    columns: list[str],
    budget: int = CHUNK_ROWS,
    planned: Plan | None = None,
) -> Iterator[tuple["pd.DataFrame", "pd.DataFrame | None"]]:
    """The KPI's rows for `start..end`, a chunk of days and companies at a time (default: `plan`), each with the
    ledger entries of the days computed (with the rows each covers) once the chunk's last company range is done
    (None before). Each chunk reads its own days plus the trailing window its figures need, so memory is bounded
    by the chunk, not the range, and the result equals one computation over the whole range.

    Timestamps are not read: no KPI uses them, and parsing them was a fifth of a large tenant's KPI time."""
    lookback = max(kpi.inputs.values())
    planned = planned or plan(kpi, warehouse, start, end, budget)
    for lo, hi in date_chunks(start, end, planned.days):
        loaded = warehouse.loaded(list(kpi.inputs), lo - timedelta(days=lookback), hi)
        loaded = loaded[~loaded["purged"]]  # their per-user rows are gone: what is left is not the day
        sizes = []
        for i, companies in enumerate(planned.companies):
            frames = {name: _read(warehouse, name, lo - timedelta(days=back), hi, companies)
                      for name, back in kpi.inputs.items()}  # fmt: skip
            frames.update({name: _read(warehouse, name, lo, hi, companies) for name in kpi.optional})
            frame = kpi.compute(**frames, loaded=loaded, start=lo, end=hi, columns=columns)
            del frames
            if len(frame):
                sizes.append(frame.groupby(["date", "company_id"]).size())
            if i < len(planned.companies) - 1:
                yield frame, None
        own_days = {name: loaded[(loaded["asset"] == name) & (loaded["date"] >= lo)] for name in kpi.inputs}
        computed = ledger.common(own_days, lo, hi)
        computed["rows"] = _rows_per_entry(pd.concat(sizes) if sizes else pd.Series(dtype="int64"), computed)
        yield frame, computed


def purged_days(kpi: Kpi, warehouse: Warehouse, start: date, end: date) -> list[date]:
    """Days of `start..end` purged in an input (`REPORTING_USER_RETENTION_DAYS`): their stored figures stay."""
    loaded = warehouse.loaded(list(kpi.inputs), start, end)
    return sorted(set(loaded.loc[loaded["purged"], "date"]))


def _partition_metadata(kpi: Kpi, day: "pd.DataFrame") -> dict[str, Any]:
    """One partition's metadata from its day's `totals`."""
    return {"loaded": True, "dagster/row_count": int(day["rows"].sum()), **kpi.summary(day)}


def _dep(name: str, lookback: int) -> AssetDep:
    if not lookback:
        return AssetDep(name)
    mapping = TimeWindowPartitionMapping(start_offset=-lookback, allow_nonexistent_upstream_partitions=True)
    return AssetDep(name, partition_mapping=mapping)


def build_kpi_asset(kpi: Kpi, partitions: PartitionsDefinition, memory_budget_mb: int) -> AssetsDefinition:
    # A day not loaded in every input has no rows: its partition says so, and shows no activity figure.
    not_loaded = {"loaded": False, "note": f"not computed: not loaded in every input ({', '.join(kpi.inputs)})"}
    purged = {
        "loaded": True,
        "purged": True,
        "note": "per-user rows purged (REPORTING_USER_RETENTION_DAYS): the figures computed before are kept",
    }

    @asset(
        name=kpi.table.name,
        group_name="paradigm_kpis",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        # Optional inputs (members: no history before the first fetch) neither block nor trigger it.
        automation_condition=AutomationCondition.eager().ignore(AssetSelection.assets(*kpi.optional)),
        deps=[*(_dep(name, lookback) for name, lookback in kpi.inputs.items()), *kpi.optional],
        kinds={"sql", "pandas"},
        description=f"{kpi.table.comment}.\n\nTable `{kpi.table.name}`.",
        metadata=table_metadata(kpi.table),
    )
    def _kpi(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        start, end = partition_dates(context)
        columns = [c.name for c in kpi.table.columns]
        per_partition, entries, shown, parts = {}, [], "", []
        kept = purged_days(kpi, warehouse, start, end)
        budget = row_budget(memory_budget_mb)
        with Spool() as spool:  # one chunk in memory at a time; all of them written in one transaction
            for frame, computed in chunks(kpi, warehouse, start, end, columns, budget=budget):
                spool.add(frame)
                shown = shown or (preview(frame) if len(frame) else "")
                parts = [totals(kpi, [*parts, frame])]  # what the summaries need, not the rows
                if computed is None:  # more companies of these days to come
                    continue
                entries.append(computed)
                day_totals, parts = parts[0], []
                by_day = dict(tuple(day_totals.groupby(day_totals["date"].map(str))))
                for day in computed["date"].map(str):
                    per_partition[day] = _partition_metadata(kpi, by_day.get(day, day_totals.iloc[0:0]))
            loaded = ledger.entries(kpi.table.name, pd.concat(entries, ignore_index=True), context.run.run_id)
            rows = warehouse.replace(kpi.table, start, end, spool, loaded=loaded, keep=kept)

        per_partition.update({str(day): purged for day in kept})
        if skipped := len(context.partition_keys) - len(per_partition):
            context.log.info(
                f"{kpi.table.name}: {skipped} of {len(context.partition_keys)} days are not loaded in every input "
                f"({', '.join(kpi.inputs)}): no rows for them"
            )
        per_partition = {key: per_partition.get(key, not_loaded) for key in context.partition_keys}
        shown = shown or preview(pd.DataFrame())  # "no rows"
        report(context, per_partition, {"run_rows": rows, "preview": MetadataValue.md(shown)})
        return MaterializeResult()

    return _kpi


def build_kpi_assets(partitions: PartitionsDefinition, memory_budget_mb: int) -> list[AssetsDefinition]:
    """The KPI assets, computing in chunks that hold within `memory_budget_mb` (REPORTING_MEMORY_BUDGET_MB)."""
    return [build_kpi_asset(k, partitions, memory_budget_mb) for k in KPIS]
