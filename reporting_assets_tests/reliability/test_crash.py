"""Crash safety: a run worker killed with SIGKILL mid-backfill, a write killed in the middle of its third window,
and overlapping runs writing at once, on SQLite and PostgreSQL. A killed load leaves its table and ledger as they
were; a re-run equals a clean run of the same range: no row lost, none duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy import func, select

from reporting_assets.paradigm.endpoints import ENDPOINTS
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.simulator.app import Simulator
from reporting_assets.simulator.faults import Fault
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import KPI_TABLES, RAW_TABLES
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.helpers import assert_same_tables, kpi_assets, raw_assets, run, snapshot
from reporting_assets_tests.processes import instance_env, materialize_command, stop

pytestmark = pytest.mark.slow(minutes=1.5)
WINDOW = 5  # days per request (run config): a short range still takes several windows
START, END = "2025-01-01", "2025-01-15"  # 15 days: 3 request windows per raw asset
START_DAY, END_DAY = date.fromisoformat(START), date.fromisoformat(END)
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
    command = materialize_command(start, end, in_process=True, days_per_request=WINDOW)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


class _OtherData(ParadigmResource):
    """The simulator with another seed, in-process: other rows for the same days."""

    def transport(self) -> httpx.BaseTransport:
        return Simulator(seed=8, token=TOKEN).transport()


def _preload(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    """The range loaded from other data: what the warehouse held before the run under test."""
    paradigm, start, end = _OtherData(base_url="http://seed8.invalid", api_key=TOKEN), START_DAY, END_DAY
    for endpoint in (e for e in ENDPOINTS.values() if not e.snapshot):  # members: 2025 is too old to snapshot
        frame = paradigm.fetch(endpoint, start, end).frame.assign(ingested_at=pd.Timestamp.now(tz="UTC"))
        loaded = ledger.entries(endpoint.name, ledger.day_counts(frame, start, end, None), "before")
        warehouse.replace(endpoint.table, start, end, frame, loaded=loaded)
    return snapshot(warehouse)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError:
        return False
    return True


def _ledger(tables: dict[str, pd.DataFrame], asset: str) -> pd.DataFrame:
    return tables["load_log"][tables["load_log"]["asset"] == asset].reset_index(drop=True)


def test_a_run_killed_in_its_third_window_then_rerun_equals_a_clean_run(
    tmp_path: Path, simulator: RunningSimulator
) -> None:
    """On SQLite: that a write killed mid-transaction leaves nothing is tested on both databases below (without
    Dagster's processes); this is what the run, its spool and its re-run do around it."""
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    before = _preload(warehouse)
    env = instance_env(tmp_path, simulator, REPORTING_DATABASE_URL=warehouse.url)
    simulator.sim.faults.add(Fault("delay", delay_s=0.4, times=None))  # slow API: the kill lands mid-window
    with (tmp_path / "killed.log").open("w") as log:
        worker = subprocess.Popen(
            materialize_command(START, END, days_per_request=WINDOW),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline, third = time.monotonic() + 300, []
    while not third and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # waiting for an asset to ask for its third window: the event that means "mid-load"
        third = [e.name for e in ENDPOINTS.values() if simulator.sim.requests[e.slug] >= 3]
    os.killpg(worker.pid, signal.SIGKILL)
    assert worker.wait() == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-2000:]
    _what_run_monitoring_does(Path(env["DAGSTER_HOME"]))
    expected = _clean(tmp_path, simulator)
    after = snapshot(warehouse)
    assert third, (tmp_path / "killed.log").read_text()[-2000:]
    for name in third:  # killed in its third window: table and ledger exactly as before the run
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
        pd.testing.assert_frame_equal(_ledger(after, name), _ledger(before, name), obj=f"{name} ledger")
    for name in RAW_TABLES:  # and every raw table is all or nothing: as before, or as a clean run writes it
        assert _same(after[name], before[name]) or _same(after[name], expected[name]), name

    simulator.sim.faults.clear()
    rerun = _materialize(env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert _duplicate_keys(warehouse) == 0
    for name, frame in _tables(warehouse).items():
        pd.testing.assert_frame_equal(frame, expected[name], obj=name)


def test_a_write_killed_in_its_third_window_leaves_table_and_ledger_as_they_were(warehouse: Warehouse) -> None:
    """The spool's windows are inserted in one transaction: SIGKILL in the middle of the third leaves nothing."""
    before = _preload(warehouse)
    script = KILLED_WRITE.format(url=warehouse.url, start=START, end=END)
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert "2 windows inserted" in killed.stdout  # the kill came after two windows were in the transaction
    assert_same_tables(snapshot(warehouse), before)


# A process writing used_documents in three windows (`Warehouse.replace` reading a generator), killed with SIGKILL
# when the third is asked for: two windows' rows and a ledger delete are inside the open transaction.
KILLED_WRITE = """
import os, signal
from datetime import date
import pandas as pd
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import used_documents

warehouse = Warehouse(url={url!r})
old = warehouse.read(used_documents)

def windows():
    for i in range(2):
        yield old.assign(usage_count=old["usage_count"] + 1 + i, document_id=old["document_id"] + 10**6 * i)
    print("2 windows inserted", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    yield old

warehouse.replace(used_documents, date.fromisoformat({start!r}), date.fromisoformat({end!r}), windows())
"""


def test_overlapping_runs_at_once_leave_a_consistent_table(
    tmp_path: Path, simulator: RunningSimulator, warehouse: Warehouse
) -> None:
    env = instance_env(tmp_path, simulator, REPORTING_DATABASE_URL=warehouse.url)
    # Two processes creating a fresh SQLite instance at once race on its tables ("table runs already exists"):
    # create it first, as `dagster dev` would have.
    with DagsterInstance.from_config(env["DAGSTER_HOME"]):  # its SQLite storage is created as it opens
        pass
    ranges = [("2025-01-01", "2025-01-10"), ("2025-01-07", "2025-01-16")]  # 2 windows each, 4 days shared
    workers = [
        subprocess.Popen(
            # in-process: two multiprocess runs at once can stall each other
            materialize_command(a, b, in_process=True, days_per_request=WINDOW),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for a, b in ranges
    ]
    try:
        outputs = [w.communicate(timeout=600)[0] for w in workers]
    finally:
        for worker in workers:
            stop(worker)
    assert [w.returncode for w in workers] == [0, 0], "\n".join(o[-2000:] for o in outputs)
    assert _duplicate_keys(warehouse) == 0
    expected = _clean(tmp_path, simulator, "2025-01-01", "2025-01-16")
    for name in RAW_TABLES:  # raw rows are the API's: whichever run wrote a day last, they are the same
        pd.testing.assert_frame_equal(_tables(warehouse)[name], expected[name], obj=name)
