"""Part 12: your own KPIs at scale: 30 KPIs (REPORTING_KPIS) over 3 years x 200 companies, the `custom_kpis`
asset in a process of its own within the memory budget."""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scripts.bench.common import run
from scripts.bench.reports import render

COLUMNS = ("sessions_count", "user_queries_count", "model_responses_count", "likes_count", "dislikes_count",
           "copies_count")  # fmt: skip
CHILD = """
import sys
from datetime import date
from pathlib import Path
from dagster import DagsterInstance, materialize
from reporting_assets.assets.partitions import build_partitions
from reporting_assets.assets.schedules import RANGE_END_TAG, RANGE_START_TAG
from reporting_assets.custom_kpis.definition import load
from reporting_assets.custom_kpis.defs import build_custom_kpis_asset
from reporting_assets.warehouse.store import Warehouse
url, path, start, end, budget = sys.argv[1:6]
asset = build_custom_kpis_asset(load(Path(path)), build_partitions(date.fromisoformat(start)), int(budget))
tags = {RANGE_START_TAG: start, RANGE_END_TAG: end}
result = materialize([asset], resources={"warehouse": Warehouse(url=url)}, instance=DagsterInstance.ephemeral(),
                     tags=tags)
assert result.success
"""


def kpi_file(count: int) -> str:
    """`count` KPIs over fct_daily_usage: sums and ratios of its additive columns, alternately."""
    lines = ["kpis:"]
    for k in range(count):
        num, den = COLUMNS[k % len(COLUMNS)], COLUMNS[(k + 1) % len(COLUMNS)]
        lines += [f"  - name: kpi_{k:02d}", f"    label: {{en: KPI {k}}}"]
        if k % 2:
            lines += ["    format: percent", "    ratio:", f"      numerator: {{view: fct_daily_usage, sum: {num}}}",
                      f"      denominator: {{view: fct_daily_usage, sum: {den}}}"]  # fmt: skip
        else:
            lines += ["    format: number", f"    sum: {{view: fct_daily_usage, column: {num}}}"]
    return "\n".join(lines) + "\n"


def custom_kpis(base: Path, start: date, days: int, companies: int, kpis: int, budget_mb: int) -> dict[str, Any]:
    """The KPI tables of `companies` x `days` (synthetic), then `custom_kpis` over them in one ranged run."""
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import custom_kpis as table
    from reporting_assets_tests.synthetic import write_instance

    url = f"sqlite:///{base / 'custom_kpis.db'}"
    warehouse = Warehouse(url=url)
    write_instance(warehouse, start, days, companies, resources=1)
    path = base / "kpis.yaml"
    path.write_text(kpi_file(kpis))
    end = start + timedelta(days=days - 1)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-c", CHILD, url, str(path), str(start), str(end), str(budget_mb)]
    figures = run(command, env, base / "custom_kpis.log")
    rows = warehouse.count(table)
    warehouse.engine.dispose()
    # the dashboard without and with the KPIs' section (this warehouse holds no per-user rows)
    pages = {"without": render(url, base / "without.html"), "with": render(url, base / "with.html", kpis=path)}
    out = {"days": days, "companies": companies, "kpis": kpis, "budget_mb": budget_mb, "rows": rows, **figures}
    return {**out, "dashboard": pages}
