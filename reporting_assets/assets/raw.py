"""One daily-partitioned asset per reporting endpoint, all made by one factory."""

from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    RetryPolicy,
    asset,
)

from reporting_assets.assets.metadata import column_schema, preview, report, table_metadata
from reporting_assets.assets.partitions import partition_dates
from reporting_assets.clock import Clock, utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.paradigm.endpoints import ENDPOINTS, Endpoint
from reporting_assets.paradigm.errors import ParadigmError, ParadigmUnavailable
from reporting_assets.paradigm.flatten import USER_ID
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.users import pseudonyms
from reporting_assets.users.erased import NONE, Erased, ErasedMeanwhile
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.spool import Spool
from reporting_assets.warehouse.store import Warehouse, WriteError

# A snapshot endpoint (company members) tells how things are now: it is recorded for days at most this old.
SNAPSHOT_MAX_AGE_DAYS = 7
NOT_SNAPSHOTTED = {
    "loaded": False,
    "note": f"no snapshot: more than {SNAPSHOT_MAX_AGE_DAYS} days old when fetched (history cannot be rebuilt); "
    "what was stored for it is kept",
}


def window_sizes(days: list[int]) -> str:
    """The request windows' sizes in days, run-length coded: `1, 31 x 11, 22`."""
    runs: list[list[int]] = []
    for size in days:
        if runs and runs[-1][0] == size:
            runs[-1][1] += 1
        else:
            runs.append([size, 1])
    return ", ".join(f"{size}" if count == 1 else f"{size} x {count}" for size, count in runs) or "none"


def build_raw_asset(endpoint: Endpoint, partitions: PartitionsDefinition, now: Clock = utc_now) -> AssetsDefinition:
    """The asset of `endpoint`; `now` stamps `ingested_at` and decides which days a snapshot may record."""

    @asset(
        name=endpoint.name,
        group_name="paradigm_raw",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool="paradigm_api",
        # The client already retried within seconds; an outage that outlasted that gets two more tries later.
        retry_policy=RetryPolicy(max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS),
        kinds={"sql", "pandas"},
        description=f"{endpoint.description}\n\nSource: `GET {endpoint.path}`; table `{endpoint.name}`.",
        metadata={**table_metadata(endpoint.table), "paradigm/endpoint": endpoint.path},
    )
    def _raw(context: AssetExecutionContext, paradigm: ParadigmResource, warehouse: Warehouse) -> MaterializeResult:
        start, end = partition_dates(context)
        fetched_at = now()
        erased = NONE
        if USER_ID in endpoint.table.c:  # the stored ids and the key must agree before any new id is written
            try:
                context.log.info(
                    "user ids: pseudonymisation %s", pseudonyms.ensure(warehouse.engine, paradigm.user_id_key or None)
                )
            except pseudonyms.KeyMismatch as exc:
                raise Failure(description=str(exc), allow_retries=False) from None
            erased = Erased.read(warehouse.engine)
        if endpoint.snapshot:  # today's figures are not those of a day long past: older days are left alone
            start = max(start, fetched_at.date() - timedelta(days=SNAPSHOT_MAX_AGE_DAYS))
            if start > end:
                report(context, dict.fromkeys(context.partition_keys, NOT_SNAPSHOTTED), {"run_rows": 0})
                return MaterializeResult()
        days, companies, drift, docs, requests, shown, sizes, dropped = [], set(), set(), {}, 0, "", [], 0
        busiest = ledger.busiest_day(warehouse.engine, endpoint.name, paradigm.company_id)
        with Spool() as spool:
            try:  # one window in memory at a time; all of them written in one transaction below
                windows = paradigm.windows(endpoint, start, end, log=context.log, busiest_day=busiest, erased=erased)
                for window in windows:
                    frame = window.rows.frame.assign(ingested_at=fetched_at)
                    spool.add(frame)
                    days.append(ledger.day_counts(frame, window.start, window.end, paradigm.company_id))
                    companies.update(frame["company_id"].unique().tolist())
                    drift.update(window.rows.drift)
                    docs.update(window.rows.docs)
                    requests += window.rows.requests
                    dropped += window.rows.dropped
                    sizes.append(window.days)
                    shown = shown or preview(frame.drop(columns="ingested_at"))
            except ParadigmError as exc:  # one clear message in the UI, not a traceback; retry only what may pass
                raise Failure(description=str(exc), allow_retries=isinstance(exc, ParadigmUnavailable)) from None
            # windows split by company cover the same days: a day's rows are the sum of its windows'
            per_day = pd.concat(days, ignore_index=True).groupby(["date"], as_index=False, sort=True)["rows"].sum()
            per_day["company_scope"] = paradigm.company_id
            loaded = ledger.entries(endpoint.name, per_day, context.run.run_id, fetched_at)
            check = erased.still if erased is not NONE else None
            try:
                rows = warehouse.replace(endpoint.table, start, end, spool, paradigm.company_id, loaded, check=check)
            except (ErasedMeanwhile, WriteError) as exc:  # retried only if a later try may pass
                retry = isinstance(exc, ErasedMeanwhile) or exc.transient
                raise Failure(description=f"{endpoint.name} {start}..{end}: {exc}", allow_retries=retry) from None

        context.log.info(
            "%s %s..%s: %d rows, %d requests, %d companies", endpoint.name, start, end, rows, requests, len(companies)
        )
        run = {
            "run_rows": rows,
            "run_days": len(context.partition_keys),
            "api_requests": requests,
            "request_windows": window_sizes(sizes),
            "companies": len(companies),
            "schema_drift": ", ".join(sorted(drift)) or "none",
            **({"erased_user_rows_dropped": dropped} if erased is not NONE else {}),
            "dagster/column_schema": column_schema(endpoint.table, docs),
            "preview": MetadataValue.md(shown),
        }
        counts = dict(zip(per_day["date"].map(str), per_day["rows"], strict=True))
        per_partition = {
            key: {"loaded": True, "dagster/row_count": int(counts[key])} if key in counts else NOT_SNAPSHOTTED
            for key in context.partition_keys
        }
        report(context, per_partition, run)
        return MaterializeResult()

    return _raw


def build_raw_assets(partitions: PartitionsDefinition, now: Clock = utc_now) -> list[AssetsDefinition]:
    return [build_raw_asset(e, partitions, now) for e in ENDPOINTS.values()]
