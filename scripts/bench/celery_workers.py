"""Part 9: a large tenant's range on one Celery worker, then two."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from scripts.bench.common import BIN, PROJECT, ROOT, Sim, Workspace, database

if TYPE_CHECKING:
    pass


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
