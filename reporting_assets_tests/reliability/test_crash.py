"""Crash safety: a run worker killed with SIGKILL mid-backfill, and overlapping runs writing at once, on SQLite and
PostgreSQL. Afterwards the warehouse equals a clean run of the same range: no row lost, none duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import func, select

from reporting_assets.simulator.app import Fault
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import kpi_assets, raw_assets, run
from reporting_assets_tests.processes import DAGSTER, instance_env, materialize_command

START, END = "2025-01-01", "2025-03-01"  # 60 days: 2 requests per raw asset, 10 in all
TABLES = {**RAW_TABLES, **KPI_TABLES}


def _tables(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    return {n: warehouse.read(t).drop(columns=[c for c in ("ingested_at",) if c in t.c]) for n, t in TABLES.items()}


def _clean(tmp_path: Path, simulator: RunningSimulator, start: str = START, end: str = END) -> dict[str, pd.DataFrame]:
    clean = Warehouse(url=f"sqlite:///{tmp_path / 'clean.db'}")
    assert run([*raw_assets, *kpi_assets], {"paradigm": simulator.resource(), "warehouse": clean}, start, end).success
    return _tables(clean)


def _duplicate_keys(warehouse: Warehouse) -> int:
    total = 0
    with warehouse.engine.connect() as conn:
        for table in TABLES.values():
            key = list(table.primary_key.columns)
            dupes = select(*key).group_by(*key).having(func.count() > 1).subquery()
            total += conn.execute(select(func.count()).select_from(dupes)).scalar_one()
    return total


def _what_run_monitoring_does(home: Path) -> None:
    """The daemon's run monitoring (`dagster.yaml`) marks a run whose worker died as failed and frees the pool
    slots it held; the CLI has no daemon, so the test does the same through the instance API."""
    with DagsterInstance.from_config(str(home)) as instance:
        [dead] = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        instance.report_run_failed(dead, "run worker killed (SIGKILL)")
        instance.event_log_storage.free_concurrency_slots_for_run(dead.run_id)


def _materialize(env: dict[str, str], cwd: Path, start: str = START, end: str = END) -> subprocess.CompletedProcess:
    """The CLI backfill in one process: what matters after a crash is what a re-run writes, not how it forks."""
    command = materialize_command(start, end, in_process=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_a_run_killed_mid_backfill_then_rerun_equals_a_clean_run(
    tmp_path: Path, simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    env = instance_env(tmp_path, simulator, REPORTING_DATABASE_URL=warehouse.url)
    simulator.sim.faults.add(Fault("delay", delay_s=0.4, times=None))  # slow API: the kill lands mid-run
    with (tmp_path / "killed.log").open("w") as log:
        worker = subprocess.Popen(
            materialize_command(START, END),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 300
    while sum(simulator.sim.requests.values()) < 6 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for the 6th API request of 10, the event that means "in the middle of the run"
    os.killpg(worker.pid, signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-2000:]
    _what_run_monitoring_does(Path(env["DAGSTER_HOME"]))
    partial = _tables(warehouse)
    expected = _clean(tmp_path, simulator)
    assert any(len(partial[n]) < len(expected[n]) for n in TABLES)  # the kill did interrupt the backfill

    simulator.sim.faults.clear()
    rerun = _materialize(env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _duplicate_keys(warehouse) == 0
    for name, frame in _tables(warehouse).items():
        pd.testing.assert_frame_equal(frame, expected[name], obj=name)


def test_overlapping_runs_at_once_leave_a_consistent_table(
    tmp_path: Path, simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    env = instance_env(tmp_path, simulator, REPORTING_DATABASE_URL=warehouse.url)
    # Two processes creating a fresh SQLite instance at once race on its tables ("table runs already exists"):
    # create it first, as `dagster dev` would have.
    subprocess.run([str(DAGSTER), "instance", "migrate"], env=env, cwd=tmp_path, capture_output=True, check=True)
    ranges = [("2025-01-01", "2025-02-28"), ("2025-02-01", "2025-03-31")]
    workers = [
        subprocess.Popen(
            materialize_command(a, b, in_process=True),  # two multiprocess runs at once can stall each other
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for a, b in ranges
    ]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert _duplicate_keys(warehouse) == 0
    expected = _clean(tmp_path, simulator, "2025-01-01", "2025-03-31")
    for name in RAW_TABLES:  # raw rows are the API's: whichever run wrote a day last, they are the same
        pd.testing.assert_frame_equal(_tables(warehouse)[name], expected[name], obj=name)
