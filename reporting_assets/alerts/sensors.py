"""Sensors: KPI alerts from new materializations, and failed runs, both sent through the Notifier."""

from __future__ import annotations

from datetime import date

from dagster import (
    AssetSpec,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    run_failure_sensor,
    sensor,
)

from reporting_assets.alerts.delivery import deliver_once
from reporting_assets.alerts.freshness import Freshness
from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import RuleSet
from reporting_assets.alerts.tick import AlertTick
from reporting_assets.clock import Clock, utc_now
from reporting_assets.i18n import Language
from reporting_assets.neutralise import plain
from reporting_assets.redact import Redactor
from reporting_assets.warehouse.store import Warehouse

CAUSE_LENGTH = 500  # characters of a step's error in the message: the run's page has the rest
WILL_RETRY_TAG = "dagster/will_retry"  # Dagster's public run tag: run retries will start this run again


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


def build_alert_sensor(
    rules: RuleSet,
    lang: Language,
    interval_s: int,
    *,
    name: str = "kpi_alerts",
    late_data: Freshness | None = None,
    now: Clock = utc_now,
) -> SensorDefinition:
    """The sensor running an `AlertTick` of `rules` (and `late_data`) every `interval_s`, messages in `lang`; its
    skip reason is the tick's summary, and it reports the `alert_events` asset whenever the alert counts change."""
    tick = AlertTick(rules, lang, late_data, now)

    @sensor(
        name=name,
        minimum_interval_seconds=interval_s,
        default_status=DefaultSensorStatus.RUNNING,
        description="Evaluates the alert rules on newly materialized KPI partitions (loaded days only) and "
        "whether yesterday's raw data arrived in time, and sends notifications.",
    )
    def _alerts(context: SensorEvaluationContext, warehouse: Warehouse, notifier: Notifier) -> SensorResult:
        report = tick(context, warehouse, notifier)
        return SensorResult(skip_reason=report.summary, asset_events=report.events)

    return _alerts


def build_run_failure_sensor(lang: Language, redact: Redactor, now: Clock = utc_now) -> SensorDefinition:
    """`run_failure_alerts`: each failed run that will not be retried, told once to each channel
    (`alert_deliveries`). A channel that refuses, or waits its backoff, makes the tick fail, and Dagster
    evaluates the run again on the next one: only the channels still owed it are sent it. Each cause is one line
    (`neutralise.plain`: errors may quote API text), with the settings' secrets masked (`redact`)."""

    @run_failure_sensor(
        name="run_failure_alerts",
        default_status=DefaultSensorStatus.RUNNING,
        description="Sends failed runs (that will not be retried) to the alert channels.",
    )
    def run_failure_alerts(context: RunFailureSensorContext, notifier: Notifier, warehouse: Warehouse) -> None:
        run = context.dagster_run
        if run.tags.get(WILL_RETRY_TAG) == "true":
            context.log.info(f"run {run.run_id} failed and will be retried: not notified")
            return
        causes = [
            f"{e.step_key}: {plain(e.step_failure_data.error.message.strip(), CAUSE_LENGTH)}"
            for e in context.get_step_failure_events()
        ]
        lead = lang.gettext("The run {run} of {job} failed and will not be retried.").format(
            run=run.run_id, job=run.job_name
        )
        failure = plain(context.failure_event.message)  # Dagster's own words
        body = redact("\n".join([lead, failure, *causes, notifier.run_link(run.run_id)]))
        record = context.instance.get_run_record_by_id(run.run_id)
        day = record.create_timestamp.date() if record else date(1970, 1, 1)
        key = (f"run_failure/{run.run_id}", day, "firing", "")
        message = (f"[RUN FAILED] {run.job_name}", body, "critical")
        if owed := deliver_once(context, warehouse, notifier, key, message, now()):
            raise RuntimeError(f"could not deliver the failure of run {run.run_id} to {', '.join(owed)} yet")

    return run_failure_alerts
