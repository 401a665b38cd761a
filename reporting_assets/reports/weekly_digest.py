"""The `weekly_digest` job and schedule: every Monday, the last complete ISO week, once per channel.

The digest is delivered as alerts are (`alerts/delivery.deliver_once`): each channel's delivery is recorded in
`alert_deliveries` (fingerprint `weekly_digest/<week>`, by a hash of the channel's URL), so a re-run, a restart
or a second tick sends only to the channels that have not received that week; a channel that refuses it is
retried with the alerts' backoff and reported after 24 hours of refusals (`alert_channels`, the doctor). A
channel still owed the digest fails the run (the run-failure sensor says so); re-running it from the UI, once
the channel's backoff has passed, retries that channel only. At the digest hour, a `daily_refresh` run still
queued or in progress (the morning's, loading Sunday) is waited for, two hours at most, so that a day still
loading is not named missing.
"""

import time
from collections.abc import Callable
from datetime import date, timedelta

from dagster import (
    Config,
    DagsterRunStatus,
    DefaultScheduleStatus,
    Failure,
    JobDefinition,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    job,
    op,
    schedule,
)
from pydantic import Field

from reporting_assets.alerts.delivery import deliver_once
from reporting_assets.alerts.notify import Notifier
from reporting_assets.clock import Clock, utc_now
from reporting_assets.custom_kpis.definition import KpiFile
from reporting_assets.i18n import Language
from reporting_assets.reports.dashboard import FILE_NAME
from reporting_assets.reports.digest import compose, last_complete_week
from reporting_assets.warehouse.store import Warehouse


class DigestConfig(Config):
    week: str = Field(
        "",
        pattern=r"^(\d{4}-W\d{2})?$",
        description="ISO week to summarise, e.g. 2026-W47 (default: the last complete one)",
    )


REFRESH_JOB = "daily_refresh"
REFRESH_WAIT = timedelta(hours=2)
POLL_S = 30
IN_PROGRESS = [
    DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED
]  # fmt: skip


def wait_for_refresh(context: OpExecutionContext, now: Clock, sleep: Callable[[float], None]) -> None:
    """While a `daily_refresh` run is queued or in progress (the morning's, loading Sunday), wait for it to end,
    `REFRESH_WAIT` at most: the week is read after, so a day still loading is not named missing."""
    deadline = now() + REFRESH_WAIT
    while runs := context.instance.get_run_records(RunsFilter(job_name=REFRESH_JOB, statuses=IN_PROGRESS), limit=1):
        if now() >= deadline:
            context.log.warning(f"{REFRESH_JOB} run {runs[0].dagster_run.run_id} still in progress after "
                                f"{REFRESH_WAIT}: the digest reads the week as it is")  # fmt: skip
            return
        context.log.info(f"{REFRESH_JOB} run {runs[0].dagster_run.run_id} in progress: the digest waits for it")
        sleep(POLL_S)


def build_weekly_digest(
    hour_utc: int,
    reports_url: str | None,
    lang: Language,
    kpis: KpiFile,
    now: Clock = utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[JobDefinition, ScheduleDefinition]:
    """The job (its notifier resource: `digest_notifier`) and the Monday schedule at `hour_utc` UTC; the digest in
    `lang`, with the KPIs of `kpis` (REPORTING_KPIS)."""
    link = f"{reports_url.rstrip('/')}/{FILE_NAME}" if reports_url else None

    @op(name="send_weekly_digest", description="Compose the week's digest and send it to each channel not yet sent.")
    def send_digest(
        context: OpExecutionContext, config: DigestConfig, warehouse: Warehouse, digest_notifier: Notifier
    ) -> None:
        week = config.week or last_complete_week(now())
        wait_for_refresh(context, now, sleep)
        digest = compose(warehouse.engine, week, link, lang, kpis)
        context.log.info(f"weekly digest {week}:\n{digest.title}\n{digest.body}")
        year, number = int(week[:4]), int(week[6:])
        key = (f"weekly_digest/{week}", date.fromisocalendar(year, number, 1), "digest", "")
        if owed := deliver_once(context, warehouse, digest_notifier, key, (digest.title, digest.body, "info"), now()):
            raise Failure(
                description=f"weekly digest {week}: {len(owed)} channel(s) did not accept it: {', '.join(owed)}. "
                "Re-run this run once they are back (a refusing channel is retried after 1, 2, 4... minutes, one "
                "hour at most): channels already served are not sent it again."
            )

    @job(name="weekly_digest", description="The weekly usage digest, sent once per channel and ISO week.")
    def weekly_digest_job() -> None:
        send_digest()

    @schedule(
        job=weekly_digest_job,
        cron_schedule=f"0 {hour_utc} * * 1",
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        name="weekly_digest",
        description=f"Mondays at {hour_utc}:00 UTC: the last complete ISO week against the week before.",
    )
    def weekly_digest(context: ScheduleEvaluationContext) -> RunRequest:
        week = last_complete_week(context.scheduled_execution_time)
        return RunRequest(
            run_key=f"weekly_digest:{week}", run_config={"ops": {"send_weekly_digest": {"config": {"week": week}}}}
        )

    return weekly_digest_job, weekly_digest
