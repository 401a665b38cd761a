"""Sensors: KPI alerts from new materializations, and failed runs, both sent through the Notifier."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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
from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import Rule, RuleSet
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


@dataclass(frozen=True)
class Note:
    """One notification owed: an episode and what to say of it (FIRING, RESOLVED or REMINDER)."""

    episode: dict
    verb: str

    @property
    def title(self) -> str:
        return f"[{self.verb}] {self.episode['rule_name']} ({self.episode['severity']})"

    @property
    def sent(self) -> int:  # `notifications_sent` once delivered
        return 2 if self.verb == "RESOLVED" else 1


SEVERITIES = ("critical", "warning", "info")


def owed(warehouse: Warehouse, rules: RuleSet, now: datetime) -> tuple[list[Note], list[Note]]:
    """What `alert_events` owes now (silenced ones left out and counted): firing and resolved transitions, and
    reminders of alerts still firing once their rule's `repeat_after_hours` has passed."""
    horizon = rules.settings.notify_horizon_days
    notes = [
        Note(e, "RESOLVED" if e["status"] == "resolved" else "FIRING")
        for e in state.outbox(warehouse.engine, now.date(), horizon).to_dict("records")
    ]
    for episode in state.reminders(warehouse.engine, now.date(), horizon).to_dict("records"):
        hours = rules.repeat_hours(episode["rule_name"], episode["severity"])
        last = episode["last_notified_at"]
        if hours and not pd.isna(last) and now - last.to_pydatetime() >= timedelta(hours=hours):
            notes.append(Note(episode, "REMINDER"))
    kept = [n for n in notes if not rules.silenced(n.episode["rule_name"], n.episode["company_id"], n.episode["date"])]
    return kept, [n for n in notes if n not in kept]


def grouped_message(notes: list[Note], notifier: Notifier) -> tuple[str, str, str]:
    """One message for several notes: counts in the title, one line per alert grouped by severity."""
    verbs = [n.verb for n in notes]
    title = "[ALERTS] " + ", ".join(
        f"{verbs.count(v)} {v.lower()}" for v in ("FIRING", "REMINDER", "RESOLVED") if v in verbs
    )
    lines = []
    for severity in SEVERITIES:
        of = [n for n in notes if n.episode["severity"] == severity]
        if of:
            lines.append(severity.upper())
            lines += [f"{n.title}: {n.episode['message']} ({_link(n, notifier)})" for n in of]
    worst = next(
        (s for s in SEVERITIES if any(n.verb != "RESOLVED" and n.episode["severity"] == s for n in notes)), "resolved"
    )
    return title, "\n".join(lines), worst


def _link(note: Note, notifier: Notifier) -> str:
    return notifier.asset_link(note.episode["asset"], note.episode["date"])


def deliver(
    context: SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier, rules: RuleSet, now: datetime
) -> dict[str, int]:
    """Send what `alert_events` owes: alone, or grouped in one message when the rules allow and there are several.
    A failed send leaves its rows as they were (a group as a whole), so the next tick tries again; a delivered
    alert is marked at once and never sent again for that transition."""
    notes, silenced = owed(warehouse, rules, now)
    counts = {"sent": 0, "silenced": len(silenced), "failed": 0}
    for note in silenced:
        context.log.info(f"silenced: {note.episode['fingerprint']} on {note.episode['date']}")
    group = [n for n in notes if rules.grouped(n.episode["rule_name"])]
    batches = [[n] for n in notes if n not in group] + ([group] if len(group) > 1 else [[n] for n in group])
    for batch in batches:
        if len(batch) == 1:
            [note] = batch
            kind = "resolved" if note.verb == "RESOLVED" else note.episode["severity"]
            title, body = note.title, f"{note.episode['message']}\n{_link(note, notifier)}"
        else:
            title, body, kind = grouped_message(batch, notifier)
        if notifier.send(title, body, kind):
            for note in batch:
                state.mark_sent(warehouse.engine, note.episode, note.sent, now)
                context.log.info(f"notified {note.title}: {note.episode['message']}")
            counts["sent"] += len(batch)
        else:
            counts["failed"] += len(batch)
            context.log.warning(
                f"delivery failed, retried next tick: {title} ({len(batch)} alerts) to {', '.join(notifier.targets())}"
            )
    return counts


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


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_alert_sensor(
    rules: RuleSet,
    name: str = "kpi_alerts",
    late_data: freshness.Freshness | None = None,
    now: Callable[[], datetime] = _utc_now,
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
def run_failure_alerts(context: RunFailureSensorContext, notifier: Notifier) -> None:
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {run.run_id} failed and will be retried: not notified")
        return
    title = f"[RUN FAILED] {run.job_name}"
    causes = [f"{e.step_key}: {e.step_failure_data.error.message.strip()}" for e in context.get_step_failure_events()]
    body = "\n".join([context.failure_event.message, *causes, notifier.run_link(run.run_id)])
    if not notifier.send(title, body, "critical"):
        raise RuntimeError(f"could not deliver the failure of run {run.run_id} to {', '.join(notifier.targets())}")
    context.log.info(f"notified {title} ({run.run_id})")
