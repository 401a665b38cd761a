"""`make bench`: how close a year backfill comes to Dagster's own floor, and what our code costs alone.

Starts the Paradigm simulator on 127.0.0.1, then measures, prints a table and writes `bench-results.json`:
1. a ranged backfill of the 5 raw + 3 KPI assets (one `dagster asset materialize --partition-range` run, SQLite
   warehouse and instance, default multiprocess executor) beside the same run of the same 8 assets with empty
   bodies (`scripts/bench_floor.py`): wall time, peak memory, API requests, rows written;
2. the same days as one run per partition vs one ranged run;
3. the ingest path alone (JSON decode, flatten, warehouse write; no Dagster) at 3 companies x 2,000 used
   documents a day, into SQLite and PostgreSQL;
4. the code-location load (import and build the definitions), and one alert sensor tick over the year's KPIs.
"""

from __future__ import annotations

import argparse
import json
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
from typing import Any

import sqlalchemy as sa
from tabulate import tabulate

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def tree_pss_mb(root: int) -> float:
    """Proportional set size of `root` and all its descendants (shared pages counted once), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(int(entry.name))
    todo, total_kb = [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total_kb += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    return total_kb / 1024


def run(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run `command` to completion: wall seconds, peak RSS of its largest process and peak PSS of its whole
    process tree (MB; sampled every 0.2 s)."""
    tree_peak = 0.0
    started = time.perf_counter()
    with log.open("a") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.wait(0.2):
            tree_peak = max(tree_peak, tree_pss_mb(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)  # rusage of the process and every descendant it waited for
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"{' '.join(command)} failed; its output is in {log}")
    return {
        "wall_s": round(wall, 1),
        "rss_max_process_mb": round(usage.ru_maxrss / 1024),
        "pss_tree_mb": round(tree_peak),
    }


class Workspace:
    """A fresh DAGSTER_HOME (the project's dagster.yaml) and SQLite warehouse, against the simulator."""

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
        command = [str(BIN / "dagster"), "asset", "materialize", *target, "--select", "*", *partitions]
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


PROJECT = ["-m", "reporting_assets.definitions"]
FLOOR = ["-d", str(ROOT / "scripts"), "-m", "bench_floor"]


def year_backfill(base: Path, sim: Sim, start: date, end: date) -> dict[str, Any]:
    """Part 1: the real assets and their empty twins over the same range, same executor, same instance setup."""
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
    return {"tick_s": round(elapsed, 2), "outcome": getattr(outcome, "skip_message", str(outcome))}


class Sim:
    """The simulator on 127.0.0.1 in this process, so its request counts can be read directly."""

    def __init__(self) -> None:
        from reporting_assets.simulator.app import Simulator, serve
        from reporting_assets.simulator.data import DEFAULT_TOKEN

        self.token = DEFAULT_TOKEN
        self.simulator = Simulator(token=self.token)
        self.server = serve(self.simulator)
        self.url = "http://{}:{}".format(*self.server.server_address[:2])

    def reset(self) -> None:
        self.simulator.requests.clear()


TARGETS = {
    "year backfill / floor": ("≤ 1.3", lambda r: r["year"]["ratio"] <= 1.3),
    "peak RSS of a process (MB)": ("≤ 600", lambda r: r["year"]["project"]["rss_max_process_mb"] <= 600),
    "API requests per endpoint": ("≤ 12", lambda r: max(r["year"]["project"]["api_requests"].values()) <= 12),
    "single-partition runs / ranged run": (
        "≥ 10",
        lambda r: "single_vs_ranged" in r and r["single_vs_ranged"]["ratio"] >= 10,
    ),
    "ingest into SQLite (rows/s)": ("≥ 150,000", lambda r: r["ingest"]["sqlite"]["rows_per_s"] >= 150_000),
    "code-location load (s)": ("≤ 1.5", lambda r: r["import_s"] <= 1.5),
    "alert sensor tick (s)": ("≤ 1", lambda r: r["sensor"]["tick_s"] <= 1),
}


def report(results: dict[str, Any]) -> str:
    year, ing = results["year"], results["ingest"]
    sr = results.get("single_vs_ranged", {"single_runs_s": "-", "ranged_run_s": "-", "ratio": "skipped"})
    figures = {
        "year backfill / floor": f"{year['project']['wall_s']} s / {year['floor']['wall_s']} s = {year['ratio']} "
        f"(runs alone {year['project']['run_s']} s / {year['floor']['run_s']} s)",
        "peak RSS of a process (MB)": f"{year['project']['rss_max_process_mb']} (whole process tree "
        f"{year['project']['pss_tree_mb']} PSS; floor {year['floor']['rss_max_process_mb']} and "
        f"{year['floor']['pss_tree_mb']})",
        "API requests per endpoint": ", ".join(f"{k} {v}" for k, v in sorted(year["project"]["api_requests"].items())),
        "single-partition runs / ranged run": f"{sr['single_runs_s']} s / {sr['ranged_run_s']} s = {sr['ratio']}",
        "ingest into SQLite (rows/s)": f"{ing['sqlite']['rows_per_s']:,} ({ing['sqlite']['rows']:,} rows)",
        "code-location load (s)": results["import_s"],
        "alert sensor tick (s)": results["sensor"]["tick_s"],
    }
    rows = [
        [name, figures[name], target, "ok" if check(results) else "MISSED"] for name, (target, check) in TARGETS.items()
    ]
    pg = ing["postgres"]
    pg_text = pg.get("skipped") or f"{pg['rows_per_s']:,} rows/s ({pg['rows']:,} rows)"
    rows.append(["ingest into PostgreSQL", pg_text, "", ""])
    rows.append(["rows written by the year backfill", f"{sum(year['project']['rows'].values()):,}", "", ""])
    return tabulate(rows, headers=["measure", "figure", "target", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1))
    parser.add_argument("--days", type=int, default=365, help="length of the ranged backfill (part 1)")
    parser.add_argument("--single-days", type=int, default=30, help="days run one by one in part 2 (0: skip it)")
    parser.add_argument("--docs-per-day", type=int, default=2000, help="used documents a day per company (part 3)")
    parser.add_argument("--postgres-url", default=os.environ.get("REPORTING_BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instances and logs")
    args = parser.parse_args()
    end = args.start + timedelta(days=args.days - 1)

    base = Path(tempfile.mkdtemp(prefix="paradigm-bench-"))
    sim = Sim()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        print(f"bench: simulator on {sim.url}; instances and logs under {base}", flush=True)
        results["import_s"] = import_time()
        print("bench: 1/4 year backfill and its floor; 4/4 alert sensor tick", flush=True)
        results["year"] = year_backfill(base, sim, args.start, end)
        results["sensor"] = sensor_tick(results["year"].pop("workspace"))
        if args.single_days:
            print("bench: 2/4 single-partition runs vs one ranged run", flush=True)
            results["single_vs_ranged"] = single_vs_ranged(base, sim, args.start, args.single_days)
        print("bench: 3/4 ingest path", flush=True)
        companies = 3
        results["ingest"] = {
            "companies": companies,
            "docs_per_day": args.docs_per_day,
            "sqlite": ingest(f"sqlite:///{base / 'ingest.db'}", args.start, end, companies, args.docs_per_day),
            "postgres": ingest_postgres(args.postgres_url, args.start, end, companies, args.docs_per_day),
        }
    finally:
        sim.server.shutdown()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    results["targets"] = {name: check(results) for name, (_, check) in TARGETS.items()}
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(report(results))
    print(f"bench: figures in {args.out}")


if __name__ == "__main__":
    main()
