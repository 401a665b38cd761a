"""`make bench`: how close a year backfill comes to Dagster's own floor, and what our code costs alone.

Starts the Paradigm simulator on 127.0.0.1, then measures, prints a table and writes `bench-results.json`:
1. a ranged backfill of the 5 raw + 3 KPI assets (one `dagster asset materialize --partition-range` run, SQLite
   warehouse and instance, default multiprocess executor) beside the same run of the same 8 assets with empty
   bodies (`scripts/bench_floor.py`): wall time, peak memory, API requests, rows written;
2. the same days as one run per partition vs one ranged run;
3. the ingest path alone (JSON decode, flatten, warehouse write; no Dagster) at 3 companies x 2,000 used
   documents a day, into SQLite and PostgreSQL;
4. the code-location load (import and build the definitions), and one alert sensor tick over the year's KPIs;
5. a large tenant (one company of 10,000 users and 5,000 documents): every asset over 90 days and a year in one
   in-process run, and the year with the default executor: wall time, peak RSS of the largest process, rows;
6. the `kpi_alerts` tick over 3 years x 50 companies of KPI history: the first tick (every day new) and the
   daily one (one new day);
7. an instance admin's reports: 3 years x 200 companies of KPI history (synthetic, written through the
   warehouse): the dashboard's render in a process of its own (wall, peak RSS, file size), the time chromium
   takes to draw its charts offline, and the weekly digest's length.
10. an instance admin's raw backfill (`--parts instance_raw`): companies of realistic sizes (3/4 small, 10-200
   users; 45 in 200 medium, 200-2,000; 5 in 200 large, 2,000-6,000; documents about half the users), every
   partitioned asset over the range in one ranged run, once per `--raw-budgets` (REPORTING_MEMORY_BUDGET_MB):
   wall time, peak RSS of the largest process, API requests per endpoint, request windows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from tabulate import tabulate

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
if TYPE_CHECKING:
    from reporting_assets.simulator.data import Company

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


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


def year_backfill(base: Path, sim: Sim, start: date, end: date) -> dict[str, Any]:
    """Part 1: the real assets and their empty twins over the same range, same executor, same instance setup."""
    from reporting_assets.reports.dashboard import render
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    partitions = ["--partition-range", f"{start}...{end}"]
    floor_ws = Workspace(base, "floor", sim.url, sim.token)
    floor = {**floor_ws.materialize(FLOOR, partitions), **floor_ws.run_phases()}
    real_ws = Workspace(base, "year", sim.url, sim.token)
    sim.reset()
    real = {**real_ws.materialize(PROJECT, partitions), **real_ws.run_phases()}
    real["api_requests"] = dict(sim.simulator.requests)
    warehouse = Warehouse(url=real_ws.warehouse_url)
    real["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
    began = time.perf_counter()
    dashboard = render(warehouse.engine, datetime.now(UTC))
    real["dashboard"] = {
        "mb": round(len(dashboard.html.encode()) / 1e6, 2),
        "render_s": round(time.perf_counter() - began, 1),
    }
    return {
        "days": (end - start).days + 1,
        "floor": floor,
        "project": real,
        "ratio": round(real["wall_s"] / floor["wall_s"], 2),
        "workspace": real_ws,
    }


def single_vs_ranged(base: Path, sim: Sim, start: date, days: int) -> dict[str, Any]:
    """Part 2: `days` one-partition runs (the default backfill) vs one ranged run of the same days."""
    keys = [(start + timedelta(days=i)).isoformat() for i in range(days)]
    single_ws = Workspace(base, "single", sim.url, sim.token)
    single = 0.0
    for key in keys:
        single += single_ws.materialize(PROJECT, ["--partition", key])["wall_s"]
    ranged = Workspace(base, "ranged", sim.url, sim.token).materialize(
        PROJECT, ["--partition-range", f"{keys[0]}...{keys[-1]}"]
    )["wall_s"]
    return {"days": days, "single_runs_s": round(single, 1), "ranged_run_s": ranged, "ratio": round(single / ranged, 1)}


def documents_payload(start: date, end: date, companies: int, per_day: int) -> bytes:
    """A used-documents answer as the API documents it: `per_day` documents a day for each company."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    reporting = [
        {
            "company": {"id": c, "name": f"Company {c}"},
            "dates": [
                {
                    "date": d.isoformat(),
                    "documents": [
                        {
                            "document_id": c * 100_000 + k,
                            "document_filename": f"doc_{k}.pdf",
                            "document_title": f"Document {k}",
                            "usage_count": 1 + (k * 7 + d.day) % 13,
                        }
                        for k in range(per_day)
                    ],
                }
                for d in days
            ],
        }
        for c in range(1, companies + 1)
    ]
    return json.dumps({"metadata": {}, "reporting": reporting}).encode()


def ingest(url: str, start: date, end: date, companies: int, per_day: int) -> dict[str, Any]:
    """Part 3: flatten + `Warehouse.replace` of used documents, 31 days per payload like the resource does.

    JSON decoding (httpx's `response.json()`) is timed apart: it is the HTTP client's work, not ours.
    """
    from reporting_assets.paradigm.endpoints import ENDPOINTS
    from reporting_assets.paradigm.flatten import flatten
    from reporting_assets.paradigm.resource import date_chunks
    from reporting_assets.warehouse import ledger
    from reporting_assets.warehouse.store import Warehouse

    endpoint, warehouse = ENDPOINTS["used_documents"], Warehouse(url=url)
    decode_s = flatten_s = write_s = 0.0
    rows = 0
    for lo, hi in date_chunks(start, end, 31):
        body = documents_payload(lo, hi, companies, per_day)
        t0 = time.perf_counter()
        payload = json.loads(body)
        t1 = time.perf_counter()
        frame = flatten(endpoint, payload).frame.assign(ingested_at=datetime.now(UTC))
        t2 = time.perf_counter()
        loaded = ledger.entries(endpoint.name, ledger.day_counts(frame, lo, hi, None), "bench")
        warehouse.replace(endpoint.table, lo, hi, frame, loaded=loaded)
        t3 = time.perf_counter()
        decode_s, flatten_s, write_s = decode_s + t1 - t0, flatten_s + t2 - t1, write_s + t3 - t2
        rows += len(frame)
    if warehouse.count(endpoint.table) != rows:
        sys.exit(f"ingest into {warehouse.engine.url.get_backend_name()}: row count differs from rows written")
    warehouse.engine.dispose()
    return {
        "rows": rows,
        "decode_s": round(decode_s, 2),
        "flatten_s": round(flatten_s, 2),
        "write_s": round(write_s, 2),
        "rows_per_s": round(rows / (flatten_s + write_s)),
        "flatten_rows_per_s": round(rows / flatten_s),
        "write_rows_per_s": round(rows / write_s),
    }


def ingest_postgres(root_url: str, start: date, end: date, companies: int, per_day: int) -> dict[str, Any]:
    """Part 3 on PostgreSQL, in a schema of its own, dropped afterwards."""
    schema = f"bench_{os.getpid()}"
    try:
        admin = sa.create_engine(root_url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any reason it is unreachable is reported, not raised
        return {"skipped": f"PostgreSQL at {root_url} is not reachable ({type(exc).__name__})"}
    try:
        return ingest(f"{root_url}?options=-csearch_path%3D{schema}", start, end, companies, per_day)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def import_time(repeat: int = 3) -> float:
    """Best of `repeat`: seconds loading the code location (import `reporting_assets.definitions` and build its
    definitions, as Dagster does) adds to a bare interpreter."""

    def best(code: str) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            env = {**os.environ, "PARADIGM_BASE_URL": "demo"}
            subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, env=env, check=True)
            times.append(time.perf_counter() - t0)
        return min(times)

    return round(best("import reporting_assets.definitions as d; d.defs()") - best("pass"), 2)


def sensor_tick(workspace: Workspace) -> dict[str, Any]:
    """Part 4: the first `kpi_alerts` tick after the year backfill (every KPI partition is new to it)."""
    from dagster import DagsterInstance, build_sensor_context

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.alerts.sensors import build_alert_sensor
    from reporting_assets.warehouse.store import Warehouse

    sensor = build_alert_sensor(load_rules())
    resources = {"warehouse": Warehouse(url=workspace.warehouse_url), "notifier": Notifier()}
    with DagsterInstance.from_config(str(workspace.home)) as instance:
        context = build_sensor_context(instance=instance, resources=resources)
        t0 = time.perf_counter()
        outcome = sensor(context)
        elapsed = time.perf_counter() - t0
    return {"tick_s": round(elapsed, 2), "outcome": outcome.skip_reason.skip_message}


IN_PROCESS = ["--config-json", json.dumps({"execution": {"config": {"in_process": {}}}})]


def large_tenant(base: Path, start: date, days: list[int], users: int, documents: int) -> dict[str, Any]:
    """Part 5: every asset for one large company over the last `n` days of the longest range, for each `n` of
    `days`, in one in-process run, and over the longest with the default executor (the simulator serves only
    that company)."""
    from reporting_assets.simulator.data import Company
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    sim = Sim(companies=(Company(201, "BigCo", users=users, documents=documents),))
    out: dict[str, Any] = {"users": users, "documents": documents}
    end = start + timedelta(days=max(days) - 1)
    try:
        for n in days:  # every range ends on the same day: the simulated usage grows over time, and so do windows
            partitions = ["--partition-range", f"{end - timedelta(days=n - 1)}...{end}"]
            for executor, extra in (("in_process", IN_PROCESS), ("multiprocess", [])):
                if executor == "multiprocess" and (n != max(days) or Workspace.in_process):
                    continue
                workspace = Workspace(base, f"large-{n}-{executor}", sim.url, sim.token)
                figures = workspace.materialize(PROJECT, [*partitions, *extra])
                warehouse = Warehouse(url=workspace.warehouse_url)
                figures["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
                warehouse.engine.dispose()
                out[f"{n}d_{executor}"] = figures
    finally:
        sim.server.shutdown()
    return out


def instance_companies(count: int, seed: int = 7) -> tuple[Company, ...]:
    """`count` companies sized like an instance's: 3/4 small, 45/200 medium, the rest (5 in 200) large."""
    import random

    from reporting_assets.simulator.data import Company

    rng = random.Random(seed)  # noqa: S311 (synthetic sizes)
    large = max(1, count * 5 // 200)
    medium = count * 45 // 200
    bounds = [(2_000, 6_000)] * large + [(200, 2_000)] * medium + [(10, 200)] * (count - large - medium)
    users = [rng.randint(lo, hi) for lo, hi in bounds]
    return tuple(Company(1_000 + i, f"Company {i}", users=u, documents=max(1, u // 2)) for i, u in enumerate(users))


def instance_raw(base: Path, start: date, days: int, companies: int, budgets: list[int]) -> dict[str, Any]:
    """Part 10: every partitioned asset over `days` days of `companies` companies, one ranged run per budget."""
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import metadata

    fleet = instance_companies(companies)
    sim = Sim(companies=fleet)
    out: dict[str, Any] = {"companies": companies, "users": sum(c.users for c in fleet), "days": days}
    end = start + timedelta(days=days - 1)
    try:
        for budget in budgets:
            workspace = Workspace(base, f"instance-raw-{budget}", sim.url, sim.token)
            workspace.env["REPORTING_MEMORY_BUDGET_MB"] = str(budget)
            sim.reset()
            figures = workspace.materialize(PROJECT, ["--partition-range", f"{start}...{end}"])
            figures["api_requests"] = dict(sim.simulator.requests)
            figures["step_peak_rss_mb"] = workspace.step_peaks()
            warehouse = Warehouse(url=workspace.warehouse_url)
            figures["rows"] = {name: warehouse.count(table) for name, table in metadata.tables.items()}
            warehouse.engine.dispose()
            out[str(budget)] = figures
    finally:
        sim.server.shutdown()
    return out


USER_KEY = "bench-pseudonymisation-key-0123456789"


def per_user(base: Path, start: date, days: int, users: int, repeat: int = 2) -> dict[str, Any]:
    """Part 8: a `users`-user tenant's `days` of `user_activities` in one in-process run, with raw ids and with
    pseudonyms (best of `repeat` each, the run alone: loading the code is the same for both), then
    `user_engagement` and `retention_cohorts` over that history."""
    from reporting_assets.simulator.data import Company
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import retention_cohorts, user_activities, user_engagement

    sim = Sim(companies=(Company(201, "BigCo", users=users, documents=10),))
    end = start + timedelta(days=days - 1)
    partitions = ["--partition-range", f"{start}...{end}"]
    out: dict[str, Any] = {"users": users, "days": days}
    try:
        for label, key in (("raw_ids", None), ("pseudonymised", USER_KEY)):
            runs = []
            for attempt in range(repeat):
                workspace = Workspace(base, f"users-{label}-{attempt}", sim.url, sim.token)
                if key:
                    workspace.env["REPORTING_USER_ID_KEY"] = key
                command = [str(BIN / "dagster"), "asset", "materialize", *PROJECT, "--select", "user_activities"]
                workspace.launched = time.time()
                figures = run([*command, *partitions, *IN_PROCESS], workspace.env, workspace.log)
                runs.append({**figures, **workspace.run_phases()})
            out[label] = min(runs, key=lambda r: r["run_s"])
        out["pseudonymisation_overhead"] = round(out["pseudonymised"]["run_s"] / out["raw_ids"]["run_s"] - 1, 3)
        command = [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            *PROJECT,
            "--select",
            "user_engagement,retention_cohorts",
        ]
        workspace.launched = time.time()
        out["per_user_assets"] = {**run(command, workspace.env, workspace.log), **workspace.run_phases()}
        warehouse = Warehouse(url=workspace.warehouse_url)
        out["rows"] = {t.name: warehouse.count(t) for t in (user_activities, user_engagement, retention_cohorts)}
        warehouse.engine.dispose()
    finally:
        sim.server.shutdown()
    return out


PING = "from reporting_assets.worker import app; print(len(app().control.ping(timeout=1.0)))"
PURGE = "from reporting_assets.worker import app; app().control.purge()"


def _database(root_url: str, name: str, driver: str) -> str:
    """A fresh PostgreSQL database `name` (dropped first if there), as a URL with `driver`."""
    admin = sa.create_engine(root_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(root_url).set(drivername=driver, database=name).render_as_string(hide_password=False)


def celery_workers(base: Path, root_url: str, start: date, days: int, users: int) -> dict[str, Any]:
    """Part 9: a `users`-user tenant's `days` of every asset with `REPORTING_EXECUTOR=celery`, on one worker and
    on two (2 processes each), PostgreSQL instance storage and warehouse, RabbitMQ on 127.0.0.1: the wall time of
    the CLI's ranged run, and the most API requests the simulator answered at once."""
    import socket

    from reporting_assets.simulator.data import Company

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        sa.create_engine(root_url).connect().close()
    except Exception as exc:  # any reason is reported, not raised
        return {"skipped": f"RabbitMQ or PostgreSQL is not reachable ({type(exc).__name__}: {exc})"}
    sim = Sim(companies=(Company(201, "BigCo", users=users, documents=users // 2),))
    out: dict[str, Any] = {"users": users, "days": days}
    end = start + timedelta(days=days - 1)
    try:
        for count in (1, 2):
            workspace = Workspace(base, f"celery-{count}", sim.url, sim.token)
            with (workspace.home / "dagster.yaml").open("a") as config:
                config.write((ROOT / "deploy" / "storage-postgres.yaml").read_text())
            workspace.env.update(
                DAGSTER_POSTGRES_URL=_database(root_url, f"bench_instance_{count}", "postgresql+psycopg2"),
                REPORTING_DATABASE_URL=_database(root_url, f"bench_warehouse_{count}", "postgresql+psycopg"),
                REPORTING_EXECUTOR="celery",
            )
            subprocess.run(
                [str(BIN / "dagster"), "instance", "migrate"], env=workspace.env, check=True, capture_output=True
            )
            subprocess.run([sys.executable, "-c", PURGE], env=workspace.env, check=True, capture_output=True)
            workers = []
            for i in range(count):
                log = (base / f"celery-{count}" / f"worker{i}.log").open("w")
                command = [sys.executable, "-m", "reporting_assets.worker", "-n", f"bench{i}@%h", "--concurrency", "2"]
                workers.append(subprocess.Popen(command, env=workspace.env, stdout=log, stderr=subprocess.STDOUT))
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    ping = subprocess.run(
                        [sys.executable, "-c", PING], env=workspace.env, capture_output=True, text=True
                    )
                    if ping.stdout.strip() == str(count):
                        break
                sim.simulator.peak_in_flight = 0
                figures = workspace.materialize(PROJECT, ["--partition-range", f"{start}...{end}"])
            finally:
                for worker in workers:
                    worker.terminate()
                    worker.wait()
            out[f"{count}_worker"] = {**figures, "peak_requests_at_once": sim.simulator.peak_in_flight}
        out["speedup"] = round(out["1_worker"]["wall_s"] / out["2_worker"]["wall_s"], 2)
    finally:
        sim.server.shutdown()
    return out


def kpi_history(url: str, start: date, days: int, companies: int) -> None:
    """`days` x `companies` of adoption_satisfaction rows (random, plausible) and their ledger entries."""
    import numpy as np
    import pandas as pd

    from reporting_assets.warehouse import ledger
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import adoption_satisfaction as table

    rng = np.random.default_rng(7)
    dates = pd.date_range(start, periods=days, freq="D").date
    frame = pd.DataFrame(
        {"date": np.tile(dates, companies), "company_id": np.repeat(np.arange(1, companies + 1), days)}
    )
    frame["company_name"] = "Company " + frame["company_id"].astype(str)
    for column in table.columns:
        if column.name not in frame:
            frame[column.name] = rng.integers(0, 500, len(frame))
    frame["satisfaction_rate"] = frame["satisfaction_rate_7d"] = rng.uniform(0.4, 1.0, len(frame))
    frame[["feedback_rate", "queries_per_session"]] = rng.uniform(0.0, 3.0, (len(frame), 2))
    days_frame = pd.DataFrame({"date": dates, "company_scope": None, "rows": companies})
    warehouse = Warehouse(url=url)
    end = dates[-1]
    warehouse.replace(table, start, end, frame, loaded=ledger.entries(table.name, days_frame, "bench"))
    warehouse.engine.dispose()


def alert_history(base: Path, years: int, companies: int) -> dict[str, Any]:
    """Part 6: `kpi_alerts` ticks over `years` x `companies` of KPI history: the first one (every partition new
    to it) and the daily one (one new partition), with the project's default rules."""
    from dagster import AssetMaterialization, DagsterInstance, build_sensor_context

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.alerts.sensors import build_alert_sensor
    from reporting_assets.warehouse.store import Warehouse

    logging.getLogger("dagster").setLevel(logging.WARNING)  # one line per alert episode otherwise
    days, start = 365 * years, date(2023, 1, 1)
    url, home = f"sqlite:///{base / 'alerts.db'}", base / "alerts_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    kpi_history(url, start, days, companies)
    rules = load_rules()
    sensor = build_alert_sensor(rules)
    resources = {"warehouse": Warehouse(url=url), "notifier": Notifier()}
    out: dict[str, Any] = {"years": years, "companies": companies, "kpi_rows": days * companies}
    with DagsterInstance.from_config(str(home)) as instance:
        cursor = None
        for tick, day in (("first_tick_s", start), ("daily_tick_s", start + timedelta(days=days - 1))):
            for asset in {rule.asset for rule in rules.rules}:
                instance.report_runless_asset_event(AssetMaterialization(asset, partition=day.isoformat()))
            context = build_sensor_context(instance=instance, resources=resources, cursor=cursor)
            t0 = time.perf_counter()
            outcome = sensor(context)
            out[tick] = round(time.perf_counter() - t0, 2)
            out[tick.replace("_s", "_outcome")] = outcome.skip_reason.skip_message
            cursor = context.cursor
    return out


RENDER = """
import json, sys, time
from datetime import UTC, datetime
from reporting_assets.reports.dashboard import render
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
html = render(Warehouse(url=sys.argv[1]).engine, datetime.now(UTC)).html
open(sys.argv[2], "w", encoding="utf-8").write(html)
wall = time.perf_counter() - t0
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))  # this process alone
print(json.dumps({"wall_s": round(wall, 1), "rss_mb": round(int(peak.split()[1]) / 1e3)}))
"""


BI = """
import json, sys, time
from reporting_assets.bi.extracts import write_extracts
from reporting_assets.bi.publish import publish
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
engine = Warehouse(url=sys.argv[1]).engine
publish(engine)
published = time.perf_counter() - t0
written = write_extracts(engine, sys.argv[2])
wall = time.perf_counter() - t0
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))  # Python's; hyperd aside
rows = {e.view: e.rows for e in written if e.view != "*"}
out = {"publish_s": round(published, 2), "wall_s": round(wall, 1), "rss_mb": round(int(peak.split()[1]) / 1e3)}
print(json.dumps({**out, "rows": rows, "hyper": len(written) > len(rows)}))
"""
INSTANCE_USERS, INSTANCE_USER_DAYS = 150, 120


def big_instance(base: Path, days: int, companies: int) -> dict[str, Any]:
    """Part 7: the dashboard and the digest of `days` x `companies` of KPI history, with `INSTANCE_USERS` users a
    company over its last `INSTANCE_USER_DAYS` days (the Users section at its bound: more users than it lists)."""
    sys.path.insert(0, str(ROOT))
    from dagster import DagsterInstance, materialize

    from reporting_assets.assets.users import build_user_assets
    from reporting_assets.reports.digest import compose, last_complete_week
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import KPI_TABLES, user_activities
    from reporting_assets_tests.synthetic import write_instance, write_users

    url, page = f"sqlite:///{base / 'instance.db'}", base / "usage_dashboard.html"
    start = date(2026, 1, 1) - timedelta(days=days)
    warehouse = Warehouse(url=url)
    write_instance(warehouse, start, days, companies, resources=3)
    user_days = min(days, INSTANCE_USER_DAYS)
    write_users(warehouse, start + timedelta(days=days - user_days), user_days, companies, INSTANCE_USERS)
    per_user = build_user_assets()
    materialize(per_user, resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral())
    out: dict[str, Any] = {"days": days, "companies": companies, "users": companies * INSTANCE_USERS}
    out["rows"] = {name: warehouse.count(table) for name, table in KPI_TABLES.items()}
    out["user_rows"] = warehouse.count(user_activities)
    child = subprocess.run([sys.executable, "-c", RENDER, url, str(page)], capture_output=True, text=True, check=True)
    out["dashboard"] = {**json.loads(child.stdout), "mb": round(page.stat().st_size / 1e6, 2)}
    out["dashboard"]["drawn_s"] = _drawn_s(page)
    digest = compose(warehouse.engine, last_complete_week(datetime(2026, 1, 1, tzinfo=UTC)))
    out["digest_chars"] = len(digest.title) + len(digest.body)
    # the BI contract published and its extracts (Parquet, Tableau) written, in a process of their own; the raw
    # tools and documents it reads are the synthetic resource_usage's
    with warehouse.engine.begin() as conn:
        for table, columns, kind in (
            ("tools_usage", "tool_name", "tool"),
            ("used_documents", "document_id, document_title, document_filename", "document"),
        ):
            values = "resource_id" if kind == "tool" else "CAST(resource_id AS INTEGER), resource_name, resource_name"
            conn.exec_driver_sql(
                f"INSERT INTO {table} (date, company_id, company_name, ingested_at, {columns}, usage_count) "
                f"SELECT date, company_id, company_name, '2026-01-01 00:00:00', {values}, usage_count "
                f"FROM resource_usage WHERE resource_type = '{kind}'"
            )
    child = subprocess.run(
        [sys.executable, "-c", BI, url, str(base / "bi")], capture_output=True, text=True, check=True
    )
    out["bi"] = json.loads(child.stdout)
    warehouse.engine.dispose()
    return out


def _drawn_s(page: Path) -> float | str:
    """Seconds from opening `page` offline in chromium to its charts drawn."""
    chromium = shutil.which("chromium")
    if not chromium:
        return "skipped: no chromium (`make browser`)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        view = browser.new_context(offline=True).new_page()
        t0 = time.perf_counter()
        view.goto(page.as_uri())
        view.wait_for_selector("body[data-ready=true]", timeout=60_000)
        drawn = time.perf_counter() - t0
        browser.close()
    return round(drawn, 2)


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


def _large(r: dict[str, Any], executor: str = "in_process") -> dict[str, Any]:
    """The large tenant's longest run with `executor`."""
    large = r["large"]
    return large[f"{max(large['days'])}d_{executor}"]


def _rss_spread(r: dict[str, Any]) -> float:
    """Relative spread of the peak RSS of the large tenant's in-process runs of different lengths."""
    rss = [v["rss_max_process_mb"] for k, v in r["large"].items() if k.endswith("d_in_process")]
    return max(rss) / min(rss) - 1


# name -> (part, target, check); a part that did not run leaves its targets "skipped"
def _largest_step(run: dict[str, Any]) -> int:
    """The largest process's peak RSS: polled every 0.1 s (which may miss a step that ends between two polls) or
    as the steps report it (their process's `ru_maxrss`), whichever is larger."""
    return max(run["rss_max_process_mb"], *run.get("step_peak_rss_mb", {}).values())


TARGETS = {
    "year backfill / floor": ("year", "≤ 1.3", lambda r: r["year"]["ratio"] <= 1.3),
    "peak RSS of a process (MB)": ("year", "≤ 600", lambda r: r["year"]["project"]["rss_max_process_mb"] <= 600),
    # a year: one day first (rows per day unknown), then 31-day windows
    "API requests per endpoint": ("year", "≤ 13", lambda r: max(r["year"]["project"]["api_requests"].values()) <= 13),
    "single-partition runs / ranged run": ("single_vs_ranged", "≥ 10", lambda r: r["single_vs_ranged"]["ratio"] >= 10),
    "ingest into SQLite (rows/s)": ("ingest", "≥ 150,000", lambda r: r["ingest"]["sqlite"]["rows_per_s"] >= 150_000),
    "code-location load (s)": ("import_s", "≤ 1.5", lambda r: r["import_s"] <= 1.5),
    "alert sensor tick (s)": ("sensor", "≤ 1", lambda r: r["sensor"]["tick_s"] <= 1),
    "large tenant, in-process: peak RSS (MB)": ("large", "≤ 600", lambda r: _large(r)["rss_max_process_mb"] <= 600),
    "instance raw backfill, 500 MB budget: peak RSS (MB)": (
        "instance_raw",
        "≤ 500",
        lambda r: _largest_step(r["instance_raw"]["500"]) <= 500,
    ),
    "large tenant, in-process: wall (s)": ("large", "≤ 133", lambda r: _large(r)["wall_s"] <= 133),
    "large tenant: RSS spread over range lengths": ("large", "≤ 15 %", lambda r: _rss_spread(r) <= 0.15),
    "daily alert tick over the KPI history (s)": ("alerts", "≤ 1", lambda r: r["alerts"]["daily_tick_s"] <= 1),
    "usage dashboard of the backfilled range (MB)": (
        "year",
        "< 5",
        lambda r: r["year"]["project"]["dashboard"]["mb"] < 5,
    ),
    "big instance dashboard: render (s)": ("instance", "≤ 60", lambda r: r["instance"]["dashboard"]["wall_s"] <= 60),
    "big instance dashboard: peak RSS (MB)": (
        "instance",
        "≤ 500",
        lambda r: r["instance"]["dashboard"]["rss_mb"] <= 500,
    ),
    "big instance dashboard: file (MB)": ("instance", "≤ 5", lambda r: r["instance"]["dashboard"]["mb"] <= 5),
    "big instance dashboard: charts drawn (s)": (
        "instance",
        "≤ 3",
        lambda r: (
            isinstance(r["instance"]["dashboard"]["drawn_s"], float) and r["instance"]["dashboard"]["drawn_s"] <= 3
        ),
    ),
    "big instance digest (characters)": ("instance", "≤ 12,000", lambda r: r["instance"]["digest_chars"] <= 12_000),
    "big instance BI contract and extracts: wall (s)": (
        "instance",
        "≤ 60",
        lambda r: r["instance"]["bi"]["wall_s"] <= 60,
    ),
    "big instance BI contract and extracts: peak RSS (MB)": (
        "instance",
        "≤ 500",
        lambda r: r["instance"]["bi"]["rss_mb"] <= 500,
    ),
    "10,000-user year: user_engagement + retention_cohorts (s)": (
        "users",
        "≤ 30",
        lambda r: r["users"]["per_user_assets"]["run_s"] <= 30,
    ),
    "10,000-user year: per-user assets, peak RSS (MB)": (
        "users",
        "≤ 600",
        lambda r: r["users"]["per_user_assets"]["rss_max_process_mb"] <= 600,
    ),
    "Celery: API requests at once, two workers": (
        "celery",
        "≤ 2",
        lambda r: "skipped" not in r["celery"] and r["celery"]["2_worker"]["peak_requests_at_once"] <= 2,
    ),
    "pseudonymisation: added to the user_activities run": (
        "users",
        "≤ 10 %",
        lambda r: r["users"]["pseudonymisation_overhead"] <= 0.10,
    ),
}


def figures(r: dict[str, Any]) -> dict[str, Any]:
    """What each target's row shows."""
    out: dict[str, Any] = {}
    if "year" in r:
        year = r["year"]
        out["year backfill / floor"] = (
            f"{year['project']['wall_s']} s / {year['floor']['wall_s']} s = {year['ratio']} "
            f"(runs alone {year['project']['run_s']} s / {year['floor']['run_s']} s)"
        )
        out["peak RSS of a process (MB)"] = (
            f"{year['project']['rss_max_process_mb']} (whole process tree {year['project']['pss_tree_mb']} PSS; "
            f"floor {year['floor']['rss_max_process_mb']} and {year['floor']['pss_tree_mb']})"
        )
        requests = year["project"]["api_requests"]
        out["API requests per endpoint"] = ", ".join(f"{k} {v}" for k, v in sorted(requests.items()))
        out["rows written by the year backfill"] = f"{sum(year['project']['rows'].values()):,}"
        dashboard = year["project"]["dashboard"]
        out["usage dashboard of the backfilled range (MB)"] = (
            f"{dashboard['mb']} (rendered in {dashboard['render_s']} s)"
        )
    if "sensor" in r:
        out["alert sensor tick (s)"] = r["sensor"]["tick_s"]
    if "single_vs_ranged" in r:
        sr = r["single_vs_ranged"]
        out["single-partition runs / ranged run"] = f"{sr['single_runs_s']} s / {sr['ranged_run_s']} s = {sr['ratio']}"
    if "ingest" in r:
        sqlite, pg = r["ingest"]["sqlite"], r["ingest"]["postgres"]
        out["ingest into SQLite (rows/s)"] = f"{sqlite['rows_per_s']:,} ({sqlite['rows']:,} rows)"
        out["ingest into PostgreSQL"] = pg.get("skipped") or f"{pg['rows_per_s']:,} rows/s ({pg['rows']:,} rows)"
    if "import_s" in r:
        out["code-location load (s)"] = r["import_s"]
    if "large" in r:
        large, longest = r["large"], _large(r)
        out["large tenant, in-process: peak RSS (MB)"] = ", ".join(
            f"{k.split('_')[0]} {v['rss_max_process_mb']}" for k, v in large.items() if k.endswith("d_in_process")
        )
        out["large tenant, in-process: wall (s)"] = longest["wall_s"]
        out["large tenant: RSS spread over range lengths"] = f"{_rss_spread(r):.0%}"
        if f"{max(large['days'])}d_multiprocess" in large:
            multi = _large(r, "multiprocess")
            out["large tenant, default executor"] = (
                f"{multi['wall_s']} s, largest process {multi['rss_max_process_mb']} MB, "
                f"tree {multi['pss_tree_mb']} PSS"
            )
        out["large tenant: rows"] = ", ".join(f"{k} {v:,}" for k, v in longest["rows"].items() if v)
    if "alerts" in r:
        a = r["alerts"]
        out["daily alert tick over the KPI history (s)"] = (
            f"{a['daily_tick_s']} ({a['years']} years x {a['companies']} companies; first tick {a['first_tick_s']} s)"
        )
    if "instance" in r:
        i, d = r["instance"], r["instance"]["dashboard"]
        size = f"{i['days']} days x {i['companies']} companies, {i['users']:,} users"
        out["big instance dashboard: render (s)"] = f"{d['wall_s']} ({size}; {sum(i['rows'].values()):,} KPI rows)"
        out["big instance dashboard: peak RSS (MB)"] = d["rss_mb"]
        out["big instance dashboard: file (MB)"] = d["mb"]
        out["big instance dashboard: charts drawn (s)"] = d["drawn_s"]
        out["big instance digest (characters)"] = f"{i['digest_chars']:,}"
        bi = i["bi"]
        out["big instance BI contract and extracts: wall (s)"] = (
            f"{bi['wall_s']} (views published in {bi['publish_s']} s; {sum(bi['rows'].values()):,} rows extracted"
            f"{', with the Tableau extract' if bi['hyper'] else ''})"
        )
        out["big instance BI contract and extracts: peak RSS (MB)"] = bi["rss_mb"]
    if "instance_raw" in r:
        i = r["instance_raw"]
        for budget, run in ((k, v) for k, v in i.items() if k.isdigit()):
            out[f"instance raw backfill, {budget} MB budget: peak RSS (MB)"] = (
                f"{_largest_step(run)} in {run['wall_s']} s ({i['companies']} companies, {i['users']:,} users, "
                f"{i['days']} days; requests {', '.join(f'{k} {v}' for k, v in sorted(run['api_requests'].items()))}; "
                f"steps' peaks {', '.join(f'{k} {v}' for k, v in run['step_peak_rss_mb'].items())})"
            )
    if "celery" in r:
        c = r["celery"]
        if "skipped" in c:
            out["Celery: API requests at once, two workers"] = c["skipped"]
        else:
            out["Celery: API requests at once, two workers"] = (
                f"{c['2_worker']['peak_requests_at_once']} (one worker: {c['1_worker']['peak_requests_at_once']})"
            )
            out["Celery: the tenant's range, one worker / two"] = (
                f"{c['1_worker']['wall_s']} s / {c['2_worker']['wall_s']} s = {c['speedup']} "
                f"({c['users']:,} users, {c['days']} days)"
            )
    if "users" in r:
        u = r["users"]
        assets = u["per_user_assets"]
        out["10,000-user year: user_engagement + retention_cohorts (s)"] = (
            f"{assets['run_s']} (the run; {assets['wall_s']} s with the CLI's start)"
        )
        out["10,000-user year: per-user assets, peak RSS (MB)"] = assets["rss_max_process_mb"]
        out["pseudonymisation: added to the user_activities run"] = (
            f"{u['pseudonymisation_overhead']:.1%} ({u['pseudonymised']['run_s']} s / {u['raw_ids']['run_s']} s)"
        )
        out["10,000-user year: rows"] = ", ".join(f"{k} {v:,}" for k, v in u["rows"].items())
    return out


def report(results: dict[str, Any]) -> str:
    shown = figures(results)
    rows = []
    for name, (part, target, check) in TARGETS.items():
        verdict = ("ok" if check(results) else "MISSED") if part in results else "skipped"
        rows.append([name, shown.get(name, "-"), target, verdict])
    rows += [[name, value, "", ""] for name, value in shown.items() if name not in TARGETS]
    return tabulate(rows, headers=["measure", "figure", "target", ""])


PARTS = ("import", "year", "single", "ingest", "large", "alerts", "instance", "users", "celery", "instance_raw")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--import-repeat", type=int, default=3, help="code-location loads, best kept (part 4)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--days", type=int, default=365, help="length of the ranged backfill (part 1)")
    parser.add_argument("--single-days", type=int, default=30, help="days run one by one in part 2")
    parser.add_argument("--docs-per-day", type=int, default=2000, help="used documents a day per company (part 3)")
    parser.add_argument("--postgres-url", default=os.environ.get("REPORTING_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--large-users", type=int, default=10_000, help="users of the large tenant (part 5)")
    parser.add_argument("--large-documents", type=int, default=5_000, help="its documents (part 5)")
    parser.add_argument("--large-days", default="90,365", help="range lengths run for it (part 5)")
    parser.add_argument("--alert-years", type=int, default=3, help="KPI history of part 6")
    parser.add_argument("--alert-companies", type=int, default=50, help="companies of part 6")
    parser.add_argument("--instance-days", type=int, default=3 * 365, help="KPI history of part 7")
    parser.add_argument("--instance-companies", type=int, default=200, help="companies of part 7")
    parser.add_argument("--user-days", type=int, default=365, help="days of the per-user part (part 8)")
    parser.add_argument("--raw-companies", type=int, default=200, help="companies of part 10")
    parser.add_argument("--raw-start", type=date.fromisoformat, default=date(2025, 10, 1), help="part 10's first day")
    parser.add_argument("--raw-days", type=int, default=92, help="days of part 10")
    parser.add_argument("--raw-budgets", default="500,100000", help="REPORTING_MEMORY_BUDGET_MB of part 10's runs")
    parser.add_argument("--user-repeat", type=int, default=2, help="runs with and without pseudonyms, best kept")
    parser.add_argument(
        "--executor",
        choices=["multiprocess", "in_process"],
        default="multiprocess",
        help="of parts 1, 2 and 5 (in_process: one process a run, what the bench's own test uses)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances and logs")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if unknown := parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    end = args.start + timedelta(days=args.days - 1)
    Workspace.in_process = args.executor == "in_process"

    base = Path(tempfile.mkdtemp(prefix="paradigm-bench-"))
    sim = Sim()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        print(f"bench: simulator on {sim.url}; instances and logs under {base}", flush=True)
        if "import" in parts:
            results["import_s"] = import_time(args.import_repeat)
        if "year" in parts:
            print("bench: 1/9 year backfill and its floor; 4/9 alert sensor tick", flush=True)
            results["year"] = year_backfill(base, sim, args.start, end)
            results["sensor"] = sensor_tick(results["year"].pop("workspace"))
        if "single" in parts:
            print("bench: 2/9 single-partition runs vs one ranged run", flush=True)
            results["single_vs_ranged"] = single_vs_ranged(base, sim, args.start, args.single_days)
        if "ingest" in parts:
            print("bench: 3/9 ingest path", flush=True)
            companies = 3
            results["ingest"] = {
                "companies": companies,
                "docs_per_day": args.docs_per_day,
                "sqlite": ingest(f"sqlite:///{base / 'ingest.db'}", args.start, end, companies, args.docs_per_day),
                "postgres": ingest_postgres(args.postgres_url, args.start, end, companies, args.docs_per_day),
            }
        if "large" in parts:
            print("bench: 5/9 large tenant", flush=True)
            days = sorted(int(n) for n in args.large_days.split(","))
            results["large"] = {
                "days": days,
                **large_tenant(base, args.start, days, args.large_users, args.large_documents),
            }
        if "alerts" in parts:
            print("bench: 6/9 alert ticks over a long KPI history", flush=True)
            results["alerts"] = alert_history(base, args.alert_years, args.alert_companies)
        if "instance" in parts:
            print("bench: 7/9 an instance admin's dashboard and digest", flush=True)
            results["instance"] = big_instance(base, args.instance_days, args.instance_companies)
        if "users" in parts:
            print("bench: 8/9 per-user analytics and pseudonymisation of a large tenant", flush=True)
            results["users"] = per_user(base, args.start, args.user_days, args.large_users, args.user_repeat)
        if "celery" in parts:
            print("bench: 9/9 a large tenant on one Celery worker, then two", flush=True)
            days = max(int(n) for n in args.large_days.split(","))
            results["celery"] = celery_workers(base, args.postgres_url, args.start, days, args.large_users)
        if "instance_raw" in parts:
            print("bench: 10 an instance admin's raw backfill, per memory budget", flush=True)
            budgets = [int(b) for b in args.raw_budgets.split(",")]
            results["instance_raw"] = instance_raw(base, args.raw_start, args.raw_days, args.raw_companies, budgets)
    finally:
        sim.server.shutdown()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    results["targets"] = {
        name: check(results) if part in results else None for name, (part, _, check) in TARGETS.items()
    }
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report(results))
    print(f"bench: figures in {args.out}")


if __name__ == "__main__":
    main()
