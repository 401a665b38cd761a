"""What every part shares: the project's paths, a run measured for wall time and memory, a fresh Dagster
instance and warehouse (`Workspace`), and the simulator in this process (`Sim`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
if TYPE_CHECKING:
    from reporting_assets.simulator.data import Company

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Unreachable(Exception):
    """PostgreSQL could not be reached: the part says so instead of failing the bench."""


@contextmanager
def pg_schema(root_url: str, name: str) -> Iterator[str]:
    """A PostgreSQL schema of its own (and its BI contract's schema), dropped afterwards: yields the warehouse URL
    with it first on the search path."""
    try:
        admin = sa.create_engine(root_url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # any reason it is unreachable is reported, not raised
        raise Unreachable(f"PostgreSQL at {root_url} is not reachable ({type(exc).__name__})") from None
    try:
        yield f"{root_url}?options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}_bi" CASCADE'))
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def tree_memory_mb(root: int) -> tuple[float, float]:
    """Of `root` and all its descendants, from /proc: proportional set size (shared pages counted once) and the
    largest peak RSS of one process (`VmHWM`: its own high-water mark, which `wait4`'s maxrss is not: a child
    inherits the parent's RSS of before its `exec`, here the bench's simulator and its cache)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry.name))
    todo, total_kb, hwm_kb = [root], 0, 0
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total_kb += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
        hwm_kb = max(hwm_kb, next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")))
    return total_kb / 1024, hwm_kb / 1024


def run(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run `command` to completion: wall seconds, peak RSS of its largest process and peak PSS of its whole
    process tree (MB; sampled every 0.1 s: a process's growth in its last 0.1 s may be missed)."""
    tree_peak = hwm_peak = 0.0
    started = time.perf_counter()
    with log.open("a") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak, hwm_peak
        while not done.wait(0.1):
            pss, hwm = tree_memory_mb(process.pid)
            tree_peak, hwm_peak = max(tree_peak, pss), max(hwm_peak, hwm)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if code:
        sys.exit(f"{' '.join(command)} failed; its output is in {log}")
    return {"wall_s": round(wall, 1), "rss_max_process_mb": round(hwm_peak), "pss_tree_mb": round(tree_peak)}


class Workspace:
    """A fresh DAGSTER_HOME (the project's dagster.yaml) and SQLite warehouse, against the simulator."""

    in_process = False  # `--executor in_process`: every run in one process (the bench's own test, at a tiny size)

    def __init__(self, base: Path, name: str, api_url: str, token: str) -> None:
        self.home = base / name / "dagster_home"
        self.home.mkdir(parents=True)
        shutil.copy(ROOT / "dagster.yaml", self.home / "dagster.yaml")
        self.warehouse_url = f"sqlite:///{base / name / 'reporting.db'}"
        self.log = base / name / "dagster.log"
        self.env = {
            **os.environ,
            "DAGSTER_HOME": str(self.home),
            "PARADIGM_BASE_URL": api_url,
            "PARADIGM_API_KEY": token,
            "REPORTING_DATABASE_URL": self.warehouse_url,
            "PYTHONWARNINGS": "ignore",
        }
        self.env.pop("DAGSTER_POSTGRES_URL", None)

    def materialize(self, target: list[str], partitions: list[str]) -> dict[str, float]:
        command = [str(BIN / "dagster"), "asset", "materialize", *target, "--select", SELECTION, *partitions]
        command += IN_PROCESS if self.in_process else []
        self.launched = time.time()
        return run(command, self.env, self.log)

    def run_phases(self) -> dict[str, float]:
        """Of the latest run: seconds from launch to RUN_START (loading the code, Dagster planning the run: one
        event per asset and partition) and from RUN_START to RUN_SUCCESS."""
        from dagster import DagsterInstance

        with DagsterInstance.from_config(str(self.home)) as instance:
            [record] = instance.get_run_records(limit=1)
            stats = instance.get_run_stats(record.dagster_run.run_id)
        return {
            "before_run_s": round(stats.start_time - self.launched, 1),
            "run_s": round(stats.end_time - stats.start_time, 1),
        }

    def step_peaks(self) -> dict[str, int]:
        """Each asset's step: its process's peak RSS (MB), as the latest materialization says it."""
        from dagster import AssetKey, DagsterInstance

        with DagsterInstance.from_config(str(self.home)) as instance:
            events = {key: instance.get_latest_materialization_event(AssetKey(key)) for key in STEPS}
        return {
            key: event.asset_materialization.metadata["process_peak_rss_mb"].value
            for key, event in events.items()
            if event and event.asset_materialization and "process_peak_rss_mb" in event.asset_materialization.metadata
        }


PROJECT = ["-m", "reporting_assets.definitions"]
SELECTION = "group:paradigm_raw or group:paradigm_kpis"  # every partitioned asset (the floor's groups are the same)
STEPS = ("chat_sessions", "chat_feedbacks", "used_documents", "tools_usage", "user_activities", "company_members",
         "adoption_satisfaction", "resource_usage", "user_activity", "user_engagement",
         "retention_cohorts")  # fmt: skip
FLOOR = ["-d", str(ROOT / "scripts"), "-m", "bench_floor"]


IN_PROCESS = ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]


def database(root_url: str, name: str, driver: str) -> str:
    """A fresh PostgreSQL database `name` (dropped first if there), as a URL with `driver`."""
    admin = sa.create_engine(root_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(root_url).set(drivername=driver, database=name).render_as_string(hide_password=False)


class Sim:
    """The simulator on 127.0.0.1 in this process, so its request counts can be read directly."""

    def __init__(self, companies: tuple[Company, ...] | None = None) -> None:
        from reporting_assets.simulator.app import Simulator, serve
        from reporting_assets.simulator.data import DEFAULT_COMPANIES, DEFAULT_TOKEN

        self.token = DEFAULT_TOKEN
        self.simulator = Simulator(token=self.token, companies=companies or DEFAULT_COMPANIES)
        self.server = serve(self.simulator)
        self.url = "http://{}:{}".format(*self.server.server_address[:2])

    def reset(self) -> None:
        self.simulator.requests.clear()
