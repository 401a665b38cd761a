"""One tick of the alerts: evaluate the rules on the KPI partitions materialized since the last tick (and
whether yesterday's raw data arrived), store the episodes, deliver what is owed, and report it all as a typed
`TickReport`. The `kpi_alerts` sensor is a thin wrapper around `AlertTick`; tests call it directly."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from dagster import AssetKey, AssetMaterialization, AssetRecordsFilter, MetadataValue, SensorEvaluationContext
from sqlalchemy import Engine

from reporting_assets.alerts import freshness, history, reads, state
from reporting_assets.alerts.delivery import deliver
from reporting_assets.alerts.evaluate import episodes
from reporting_assets.alerts.history import AlertRow
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import Rule, RuleSet
from reporting_assets.clock import Clock, utc_now
from reporting_assets.i18n import Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.neutralise import markdown_table
from reporting_assets.warehouse.store import Warehouse, checkpoint

PAGE = 1000
RECOMPUTED_DAYS = 90  # an asset without partitions (group_activity): the days a new materialization re-evaluates


@dataclass
class AlertCursor:
    """What the sensor remembers between ticks: the last event storage id seen per watched KPI asset, and the
    alert counts last reported to the `alert_events` asset."""

    storage_ids: dict[str, int] = field(default_factory=dict)
    shown: list[int] | None = None

    @classmethod
    def parse(cls, raw: str | None) -> AlertCursor:
        data = json.loads(raw) if raw else {}
        if "storage_ids" in data:
            return cls(dict(data["storage_ids"]), data.get("shown"))
        shown = data.pop("alert_events:counts", None)  # the mixed format of earlier versions
        return cls({k: int(v) for k, v in data.items()}, shown)

    def dump(self) -> str:
        return json.dumps({"storage_ids": self.storage_ids, "shown": self.shown}, sort_keys=True)


@dataclass(frozen=True)
class TickReport:
    evaluated: dict[str, date]  # KPI asset -> the earliest partition materialized since the last tick
    fired: int
    resolved: int
    pending: int
    sent: int  # alerts every channel has now
    silenced: int
    failed: int  # alerts still owed to a channel: retried on a later tick
    events: list[AssetMaterialization]  # `alert_events`, when its counts changed

    @property
    def summary(self) -> str:
        evaluated = ", ".join(f"{a} from {d}" for a, d in sorted(self.evaluated.items())) or "nothing new"
        return (
            f"evaluated {evaluated}; fired {self.fired}, resolved {self.resolved}, pending {self.pending}; "
            f"notifications sent {self.sent}, silenced {self.silenced}, failed {self.failed} (retried later)"
        )


def changed_partitions(context: SensorEvaluationContext, assets: set[str], cursor: AlertCursor) -> dict[str, date]:
    """Earliest partition materialized since the cursor, per asset; advances `cursor` in place."""
    earliest: dict[str, date] = {}
    for asset in sorted(assets):
        while True:
            result = context.instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(asset), after_storage_id=cursor.storage_ids.get(asset)),
                limit=PAGE,
                ascending=True,
            )
            days = [date.fromisoformat(r.partition_key) if r.partition_key else date.min for r in result.records]
            if days:  # an asset without partitions (group_activity): every day of it may have changed
                earliest[asset] = min([*days, earliest.get(asset, days[0])])
            if result.records:
                cursor.storage_ids[asset] = result.records[-1].storage_id
            if not result.has_more:
                break
    return earliest


def evaluate(engine: Engine, rule: Rule, since: date, lang: Language) -> state.Changes:
    """Store `rule`'s episodes from `since` on (messages in `lang`), reading only the days that can change them."""
    start = reads.first_day(engine, rule, since)
    found = episodes(rule, reads.kpi_rows(engine, rule, start), reads.loaded(engine, rule, start), lang)
    return state.sync(engine, rule.name, found, since)


def alert_state_event(statuses: dict[str, int], firing: list[AlertRow]) -> AssetMaterialization:
    columns = ["rule_name", "severity", "company_id", "company_name", "started_at", "date", "value", "threshold"]
    table = markdown_table(pd.DataFrame([asdict(a) for a in firing], columns=columns)) if firing else "_nothing firing_"
    return AssetMaterialization(
        asset_key="alert_events",
        description=f"{statuses['firing']} firing, {statuses['pending']} pending, {statuses['resolved']} resolved",
        metadata={**statuses, "firing_alerts": MetadataValue.md(table)},
    )


@dataclass(frozen=True)
class AlertTick:
    """`rules` evaluated on new KPI partitions, and given `late_data`, whether yesterday's raw data is loaded by
    its deadline; `now` is the clock (tests set it), `lang` the messages' language."""

    rules: RuleSet
    lang: Language
    late_data: freshness.Freshness | None = None
    now: Clock = utc_now

    def __call__(self, context: SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> TickReport:
        """One tick; updates the context's cursor."""
        cursor = AlertCursor.parse(context.cursor)
        changed = changed_partitions(context, {rule.asset for rule in self.rules.rules}, cursor)
        clock = self.now()
        horizon = self.rules.settings.horizon(clock.date())
        changes = state.Changes()
        for rule in self.rules.rules:
            if rule.asset in changed:
                since = changed[rule.asset]
                if since == date.min:  # an asset without partitions: its recent days (older alerts are not sent)
                    since = clock.date() - timedelta(days=RECOMPUTED_DAYS)
                changes += evaluate(warehouse.engine, rule, since, self.lang)
        if self.late_data is not None:
            changes += freshness.evaluate(warehouse.engine, self.late_data, clock, self.lang)
        for verb, keys in (("fired", changes.fired), ("resolved", changes.resolved), ("pending", changes.pending)):
            for fingerprint, day in keys:
                note = "" if day >= horizon or verb == "pending" else " (older than the horizon: recorded, not sent)"
                context.log.info(f"{verb}: {fingerprint} on {day}{note}")
        counts = deliver(context, warehouse, notifier, self.rules, clock, self.lang)
        checkpoint(warehouse.engine, mode="PASSIVE")
        statuses = history.counts(warehouse.engine)
        shown = [statuses[s] for s in history.STATUSES]
        events = [] if cursor.shown == shown else [alert_state_event(statuses, history.firing(warehouse.engine))]
        cursor.shown = shown
        context.update_cursor(cursor.dump())
        return TickReport(
            changed, len(changes.fired), len(changes.resolved), len(changes.pending), **counts, events=events
        )
