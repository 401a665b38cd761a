"""Parts 5, 8 and 9: one large tenant, every asset over ranges of different lengths; its per-user analytics with
and without pseudonyms; and its range on one Celery worker, then two."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.bench.common import (
    BIN,
    IN_PROCESS,
    PROJECT,
    ROOT,
    Sim,
    Workspace,
    database,
    run,
)


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
                DAGSTER_POSTGRES_URL=database(root_url, f"bench_instance_{count}", "postgresql+psycopg2"),
                REPORTING_DATABASE_URL=database(root_url, f"bench_warehouse_{count}", "postgresql+psycopg"),
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
