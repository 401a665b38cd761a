"""Steps on Celery workers (`REPORTING_EXECUTOR=celery`), as a team that outgrew one machine runs it: two worker
processes, each with its own working directory and TMPDIR, RabbitMQ as the broker, PostgreSQL for Dagster's
instance and for the warehouse, and moto's S3 server for the reports. A 30-day backfill through the CLI writes
what an in-process run writes, its steps run on both workers, the simulator never answers more than 2 requests
at once (the `paradigm_api` pool), and the dashboard lands in the bucket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import boto3
import pandas as pd
import pytest
from dagster import DagsterEventType, DagsterInstance

from reporting_assets.i18n import ENGLISH
from reporting_assets.settings import DEFAULT_BACKEND, DEFAULT_BROKER, Settings, SettingsError
from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import ACTIVITY_TABLES, kpi_assets, raw_assets, run
from reporting_assets_tests.processes import DAGSTER, instance_env, stop

pytestmark = pytest.mark.slow(minutes=2)
BROKER = ("127.0.0.1", 5672)
START, END = "2025-01-01", "2025-01-30"
WORKERS = ("worker1", "worker2")


@pytest.fixture
def rabbitmq() -> None:
    """RabbitMQ on 127.0.0.1:5672 (`.ci/run` starts it): skipped without it, except under CI."""
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as exc:
        message = f"RabbitMQ is not reachable at {BROKER[0]}:{BROKER[1]} ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; under CI the scale-out test must run", pytrace=False)
        pytest.skip(message)


def _celery():
    """A Celery app on the default broker, as the workers see it (to ping and purge from this process)."""
    from dagster_celery.make_app import make_app

    return make_app({"broker": DEFAULT_BROKER, "backend": DEFAULT_BACKEND})


def _workers_ready(count: int, timeout_s: float = 90) -> None:
    deadline, answered = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        answered = _celery().control.ping(timeout=1.0)  # waits a second for the answers
        if len(answered) == count:
            return
    pytest.fail(f"{count} Celery workers did not answer within {timeout_s:.0f} s: {answered}")


def test_a_backfill_on_two_celery_workers_equals_an_in_process_run(
    tmp_path: Path,
    simulator: RunningSimulator,
    rabbitmq,
    dagster_postgres: str,
    postgres_url: str,
    s3: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = instance_env(
        tmp_path,
        simulator,
        DAGSTER_POSTGRES_URL=dagster_postgres,
        REPORTING_DATABASE_URL=postgres_url,
        REPORTING_EXECUTOR="celery",
        REPORTING_REPORTS_DIR=f"s3://{s3}/scale-out",
    )
    subprocess.run([str(DAGSTER), "instance", "migrate"], env=env, cwd=tmp_path, capture_output=True, check=True)
    _celery().control.purge()  # steps of runs long gone
    simulator.sim.faults.add(Fault("delay", delay_s=0.2, times=None))  # answers that overlap if nothing caps them
    workers = []
    for name in WORKERS:
        home = tmp_path / name
        (home / "tmp").mkdir(parents=True)
        log = (home / "worker.log").open("w")
        command = [sys.executable, "-m", "reporting_assets.worker", "-n", f"{name}@%h", "--concurrency", "2"]
        workers.append(
            subprocess.Popen(
                command, cwd=home, env={**env, "TMPDIR": str(home / "tmp")}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )  # fmt: skip
    try:
        _workers_ready(len(WORKERS))
        command = [str(DAGSTER), "asset", "materialize", "-m", "reporting_assets.definitions"]
        command += ["--select", "group:paradigm_raw or group:paradigm_kpis or key:usage_dashboard"]
        command += ["--partition-range", f"{START}...{END}"]
        backfill = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    finally:
        for worker in workers:
            stop(worker)
    logs = "\n".join((tmp_path / name / "worker.log").read_text()[-1500:] for name in WORKERS)
    assert backfill.returncode == 0, backfill.stderr[-3000:] + logs

    # Steps ran on both workers (dagster-celery's engine event names the worker of each step)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", dagster_postgres)  # what the instance's dagster.yaml reads
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        [record] = instance.get_run_records(limit=1)
        events = instance.all_logs(record.dagster_run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
    metadata = [e.dagster_event.engine_event_data.metadata for e in events]
    hosts = {str(m["Celery worker"].value).split("@")[0] for m in metadata if "Celery worker" in m}
    assert hosts == set(WORKERS), hosts
    assert record.dagster_run.status.value == "SUCCESS"
    assert 1 <= simulator.sim.peak_in_flight <= 2, simulator.sim.peak_in_flight

    # The warehouse equals an in-process run of the same days
    expected = Warehouse(url=f"sqlite:///{tmp_path / 'expected.db'}")
    simulator.sim.faults.clear()
    assert run(
        [*raw_assets, *kpi_assets], {"paradigm": simulator.resource(), "warehouse": expected}, START, END
    ).success
    actual = Warehouse(url=postgres_url)
    for table in [*ACTIVITY_TABLES.values(), *KPI_TABLES.values()]:
        ignore = [c for c in ("ingested_at",) if c in table.c]
        left, right = actual.read(table).drop(columns=ignore), expected.read(table).drop(columns=ignore)
        assert len(left) > 0
        pd.testing.assert_frame_equal(left, right, obj=table.name, check_dtype=False)

    # The dashboard is in the bucket
    page = boto3.client("s3").get_object(Bucket=s3, Key="scale-out/usage_dashboard.html")["Body"].read()
    assert (
        page.startswith(b"<!DOCTYPE html>")
        and f'id="data-through">{ENGLISH.date(date.fromisoformat(END))}<'.encode() in page
    )


def test_celery_with_a_sqlite_warehouse_or_instance_stops_the_code_location(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with pytest.raises(SettingsError) as error:
        Settings.load(paradigm_base_url="demo", reporting_executor="celery", dagster_home=home)
    message = str(error.value)
    assert "REPORTING_EXECUTOR=celery" in message and "warehouse is a SQLite file" in message
    assert "instance storage is SQLite" in message and "DAGSTER_POSTGRES_URL" in message
    (home / "dagster.yaml").write_text("storage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_POSTGRES_URL\n")
    settings = Settings.load(
        paradigm_base_url="demo",
        reporting_executor="celery",
        dagster_home=home,
        reporting_database_url="postgresql+psycopg://u@h/db",
        reporting_celery_broker_url="amqp://user:broker-password-77@127.0.0.1:5672//",
    )
    assert "broker-password-77" not in repr(settings)
    with pytest.raises(SettingsError) as bad:
        Settings.load(paradigm_base_url="demo", reporting_executor="kubernetes")
    assert "REPORTING_EXECUTOR" in str(bad.value)
