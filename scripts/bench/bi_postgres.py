"""Part 11: the BI contract on PostgreSQL at an instance admin's size (years x hundreds of companies, with users):
people per period counted (`active_users_by_period` over the whole range), the contract published, every
company's extracts and one company's, each in a process of its own (wall, peak RSS): the extracts stream through a
server-side cursor, so their memory is a chunk's, not the instance's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.common import ROOT, Unreachable, pg_schema
from scripts.bench.reports import raw_resources

PEOPLE = """
import json, sys, time
from datetime import date
from reporting_assets.assets.periods import refresh
from reporting_assets.paradigm.resource import row_budget
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
first, last = (date.fromisoformat(day) for day in sys.argv[2:4])
done = refresh(Warehouse(url=sys.argv[1]), first, last, row_budget(500))
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"periods": done.periods, "rows": done.rows, "wall_s": round(time.perf_counter() - t0, 1),
                  "rss_mb": round(int(peak.split()[1]) / 1e3)}))
"""

EXTRACTS = """
import json, sys, time
from reporting_assets.bi.extracts import write_extracts
from reporting_assets.warehouse.store import Warehouse
t0 = time.perf_counter()
company = int(sys.argv[3]) if sys.argv[3] else None
written = write_extracts(Warehouse(url=sys.argv[1]).engine, sys.argv[2], user_lists=True, company_id=company)
peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))  # Python's; hyperd aside
print(json.dumps({"wall_s": round(time.perf_counter() - t0, 1), "rss_mb": round(int(peak.split()[1]) / 1e3),
                  "rows": sum(e.rows for e in written if e.view != "*")}))
"""


def _child(script: str, *args: str) -> dict[str, Any]:
    child = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(child.stdout)


def bi_postgres(base: Path, root_url: str, days: int, companies: int, users: int) -> dict[str, Any]:
    """Part 11 in a PostgreSQL schema of its own, dropped afterwards: `days` x `companies` of KPIs, `users` users a
    company over the last 120 days."""
    sys.path.insert(0, str(ROOT))
    try:
        with pg_schema(root_url, f"bench_bi_{os.getpid()}") as url:
            return _measured(base, url, days, companies, users)
    except Unreachable as exc:
        return {"skipped": str(exc)}


def _measured(base: Path, url: str, days: int, companies: int, users: int) -> dict[str, Any]:
    """The instance written at `url`, then each step measured in a process of its own."""
    from reporting_assets.bi.publish import publish
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets_tests.synthetic import write_instance, write_users

    warehouse = Warehouse(url=url)
    start = date(2026, 1, 1) - timedelta(days=days)
    write_instance(warehouse, start, days, companies, resources=3)
    user_days = min(days, 120)
    write_users(warehouse, start + timedelta(days=days - user_days), user_days, companies, users)
    raw_resources(warehouse.engine)  # the tools and documents of fct_tool_usage and fct_document_usage
    out: dict[str, Any] = {"days": days, "companies": companies, "users": companies * users}
    out["people"] = _child(PEOPLE, url, str(start), str(start + timedelta(days=days - 1)))
    publish(warehouse.engine, user_lists=True, first_day=None)
    warehouse.engine.dispose()
    out["extracts"] = _child(EXTRACTS, url, str(base / "bi-all"), "")
    out["one_company"] = _child(EXTRACTS, url, str(base / "bi-one"), "101")
    return out
