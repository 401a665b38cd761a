"""Sensors: KPI alerts from new materializations, and failed runs, both sent through the Notifier."""

from __future__ import annotations

import json
from datetime import date, timedelta

from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetRecordsFilter,
    AssetSpec,
    DefaultSensorStatus,
    MetadataValue,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)
from sqlalchemy import Engine

from reporting_assets.alerts import freshness, reads, state
from reporting_assets.alerts.delivery import deliver
from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import Rule, RuleSet
from reporting_assets.clock import Clock, utc_now
from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.store import Warehouse, checkpoint

PAGE = 1000
WILL_RETRY_TAG = "dagster/will_retry"  # Dagster's public run tag: run retries will start this run again


def changed_partitions(context: SensorEvaluationContext, assets: set[str], cursor: dict[str, int]) -> dict[str, date]:
    """Earliest partition materialized since the cursor, per asset; advances `cursor` in place."""
    earliest: dict[str, date] = {}
    for asset in sorted(assets):
        while True:
            result = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(asset), after_storage_id=cursor.get(asset)),
                limit=PAGE,
                ascending=True,
            )
            days = [date.fromisoformat(r.partition_key) for r in result.records if r.partition_key]
            if days:
                earliest[asset] = min([*days, earliest.get(asset, days[0])])
            if result.records:
                cursor[asset] = result.records[-1].storage_id
            if not result.has_more:
                break
    return earliest


def evaluate(engine: Engine, rule: Rule, since: date) -> state.Changes:
    """Store `rule`'s episodes from `since` on, reading only the days that can change them."""
    start = reads.first_day(engine, rule, since)
    found = episodes(rule, reads.kpi_rows(engine, rule, start), reads.loaded(engine, rule, start))
    return state.sync(engine, rule.name, found, since)


STATE_KEY = "alert_events:counts"  # in the cursor, beside the storage id of each watched asset


def alert_events_spec(watched: set[str]) -> AssetSpec:
    """The `alert_events` table as an asset: downstream of the KPI assets the rules watch, materialized by the
    `kpi_alerts` sensor (which keeps doing the evaluation), so the lineage shows KPIs -> alerts."""
    return AssetSpec(
        "alert_events",
        group_name="paradigm_alerts",
        deps=sorted(watched),
        kinds={"sql"},
        description="Alert episodes per rule and company (pending -> firing -> resolved), evaluated and notified "
        "by the `kpi_alerts` sensor. Each change of the counts is recorded here: the Plots show them over time.",
        metadata={"dagster/table_name": "alert_events"},
    )


def alert_state_event(statuses: dict[str, int], firing: pd.DataFrame) -> AssetMaterialization:
    table = firing.to_markdown(index=False) if len(firing) else "_nothing firing_"
    return AssetMaterialization(
        asset_key="alert_events",
        description=f"{statuses['firing']} firing, {statuses['pending']} pending, {statuses['resolved']} resolved",
        metadata={**statuses, "firing_alerts": MetadataValue.md(table)},
    )


def build_alert_sensor(
    rules: RuleSet,
    name: str = "kpi_alerts",
    late_data: freshness.Freshness | None = None,
    now: Clock = utc_now,
) -> SensorDefinition:
    """The sensor evaluating `rules` on the KPI partitions materialized since its last tick, and, given
    `late_data`, whether yesterday's raw data is loaded by its deadline. `now` is the clock (tests set it)."""
    watched = {rule.asset for rule in rules.rules}

    @sensor(
        name=name,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.RUNNING,
        description="Evaluates the alert rules on newly materialized KPI partitions (loaded days only) and "
        "whether yesterday's raw data arrived in time, and sends notifications.",
    )
    def _alerts(context: SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        changed = changed_partitions(context, watched, cursor)
        clock = now()
        today = clock.date()
        horizon = today - timedelta(days=rules.settings.notify_horizon_days)
        changes = state.Changes()
        for rule in rules.rules:
            if rule.asset in changed:
                changes += evaluate(warehouse.engine, rule, changed[rule.asset])
        if late_data is not None:
            changes += freshness.evaluate(warehouse.engine, late_data, clock)
        for verb, keys in (("fired", changes.fired), ("resolved", changes.resolved), ("pending", changes.pending)):
            for fingerprint, day in keys:
                note = "" if day >= horizon or verb == "pending" else " (older than the horizon: recorded, not sent)"
                context.log.info(f"{verb}: {fingerprint} on {day}{note}")
        counts = deliver(context, warehouse, notifier, rules, clock)
        checkpoint(warehouse.engine, mode="PASSIVE")
        # The alert state in the UI: a materialization of `alert_events` whenever its counts change
        statuses, firing = state.summary(warehouse.engine)
        shown = [statuses[s] for s in ("pending", "firing", "resolved")]
        report = [] if cursor.get(STATE_KEY) == shown else [alert_state_event(statuses, firing)]
        context.update_cursor(json.dumps({**cursor, STATE_KEY: shown}))
        evaluated = ", ".join(f"{a} from {d}" for a, d in sorted(changed.items())) or "nothing new"
        return SensorResult(
            skip_reason=f"evaluated {evaluated}; fired {len(changes.fired)}, resolved {len(changes.resolved)}, "
            f"pending {len(changes.pending)}; notifications sent {counts['sent']}, silenced {counts['silenced']}, "
            f"failed {counts['failed']} (retried next tick)",
            asset_events=report,
        )

    return _alerts


@run_failure_sensor(
    name="run_failure_alerts",
    default_status=DefaultSensorStatus.RUNNING,
    description="Sends failed runs (that will not be retried) to the alert channels.",
)
def run_failure_alerts(context: RunFailureSensorContext, notifier: Notifier, warehouse: Warehouse) -> None:
    """Each channel is told once (`alert_deliveries`): a channel that refused makes the tick fail, and Dagster
    evaluates this run again on the next one, which sends to that channel only."""
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {run.run_id} failed and will be retried: not notified")
        return
    title = f"[RUN FAILED] {run.job_name}"
    causes = [f"{e.step_key}: {e.step_failure_data.error.message.strip()}" for e in context.get_step_failure_events()]
    body = "\n".join([context.failure_event.message, *causes, notifier.run_link(run.run_id)])
    record = context.instance.get_run_record_by_id(run.run_id)
    day = record.create_timestamp.date() if record else date(1970, 1, 1)
    key = (f"run_failure/{run.run_id}", day, "firing", "")
    done = state.delivered(warehouse.engine, [key])
    refused = []
    for channel in notifier.channels():
        if (key, channel.key) in done:
            continue
        if not channel.send(title, body, "critical"):
            refused += channel.targets()
            continue
        state.record(warehouse.engine, [key], channel.key, utc_now())
        context.log.info(f"notified {title} ({run.run_id}) to {channel.targets()[0]}")
    if refused:
        raise RuntimeError(f"could not deliver the failure of run {run.run_id} to {', '.join(refused)}")
