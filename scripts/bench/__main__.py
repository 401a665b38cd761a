"""`python -m scripts.bench`: run the parts asked for, print the report, write the figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import scripts.bench
from scripts.bench.alerts import alert_history
from scripts.bench.bi_postgres import bi_postgres
from scripts.bench.celery_workers import celery_workers
from scripts.bench.common import (
    DEFAULT_PG,
    ROOT,
    Sim,
    Workspace,
)
from scripts.bench.custom_kpis import custom_kpis
from scripts.bench.ingest import ingest, ingest_postgres
from scripts.bench.instance_raw import instance_raw
from scripts.bench.large import large_tenant
from scripts.bench.org_groups import groups_page, org_groups
from scripts.bench.reports import INSTANCE_USERS, big_instance
from scripts.bench.single import single_vs_ranged
from scripts.bench.startup import import_time, sensor_tick
from scripts.bench.targets import TARGETS, report
from scripts.bench.users import per_user
from scripts.bench.year import year_backfill

PARTS = ("import", "year", "single", "ingest", "large", "alerts", "instance", "users", "celery", "instance_raw")
PARTS += ("bi_postgres", "custom_kpis", "org_groups")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.bench",
        description=scripts.bench.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    parser.add_argument("--wide-days", type=int, default=365, help="KPI history of part 7's widest instance")
    parser.add_argument("--wide-companies", type=int, default=2_000, help="companies of part 7's widest instance")
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
    parser.add_argument("--kpi-days", type=int, default=3 * 365, help="part custom_kpis: days of KPI history")
    parser.add_argument("--kpi-companies", type=int, default=200, help="part custom_kpis: companies")
    parser.add_argument("--kpi-count", type=int, default=30, help="part custom_kpis: KPIs in the file")
    parser.add_argument("--kpi-budget-mb", type=int, default=500, help="part custom_kpis: REPORTING_MEMORY_BUDGET_MB")
    parser.add_argument("--org-users", type=int, default=10_000, help="part org_groups: users of the company")
    parser.add_argument("--org-groups", type=int, default=50, help="part org_groups: departments")
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
            results["instance"] = big_instance(
                base, args.instance_days, args.instance_companies, (args.wide_days, args.wide_companies)
            )
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
        if "bi_postgres" in parts:
            print("bench: 11 the BI contract on PostgreSQL: people per period, the extracts", flush=True)
            results["bi_postgres"] = bi_postgres(
                base, args.postgres_url, args.instance_days, args.instance_companies, INSTANCE_USERS
            )
        if "custom_kpis" in parts:
            print("bench: 12 your own KPIs: 30 of them over 3 years x 200 companies", flush=True)
            results["custom_kpis"] = custom_kpis(
                base, date(2023, 1, 1), args.kpi_days, args.kpi_companies, args.kpi_count, args.kpi_budget_mb
            )
        if "org_groups" in parts:
            print("bench: 13 departments: a 10,000-user company in 50 groups over a year", flush=True)
            results["org_groups"] = org_groups(
                base, date(2025, 1, 1), 365, args.org_users, args.org_groups, args.kpi_budget_mb
            )
            results["org_groups"]["page"] = groups_page(base, date(2023, 1, 1), args.kpi_days, args.kpi_companies, 20)
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
