"""Part 13: departments at scale: a company of 10,000 users over a year (`user_activities`, synthetic) and an org
file of every user in 50 departments (a few below the minimum group size) and 5 sites, one user in ten moving
department mid-range; `org_data` then `group_activity` (and `group_segments`, from `user_engagement`) in a process
of their own within the memory budget."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from scripts.bench.common import run

CHILD = """
import json, sys, time
from dagster import DagsterInstance, materialize
from reporting_assets.org.defs import build_group_activity, build_org_data
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.warehouse.store import Warehouse
url, path, budget, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
paradigm = ParadigmResource(base_url="http://127.0.0.1:9", api_key="unused", company_id=1)  # never called
resources, instance, seconds = {"paradigm": paradigm, "warehouse": Warehouse(url=url)}, DagsterInstance.ephemeral(), {}
for asset in (build_org_data(path, 1), build_group_activity(10, budget)):  # one run each, timed apart
    started = time.perf_counter()
    assert materialize([asset], resources=resources, instance=instance).success
    seconds[asset.key.to_user_string() + "_s"] = round(time.perf_counter() - started, 1)
open(out, "w").write(json.dumps(seconds))
"""


def org_file(users: int, groups: int, start: date, days: int, seed: int = 7) -> str:
    """Every user (ids as `synthetic.write_users` gives company 1) in one of `groups` departments of uneven sizes
    (the smallest below 10) and one of 5 sites; one user in ten moves to another department halfway."""
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.2, groups) + 0.02
    department = rng.choice(groups, users, p=weights / weights.sum())
    ids = 100_001 + np.arange(users)
    lines = ["user_id,company_id,valid_from,department,site"]
    lines += [f"{u},1,,dept-{d:02d},site-{d % 5}" for u, d in zip(ids, department, strict=True)]
    moved = rng.choice(users, users // 10, replace=False)
    halfway = start + timedelta(days=days // 2)
    lines += [f"{ids[k]},1,{halfway},dept-{(department[k] + 1) % groups:02d},site-{k % 5}" for k in moved]
    return "\n".join(lines) + "\n"


def org_groups(base: Path, start: date, days: int, users: int, groups: int, budget_mb: int) -> dict[str, Any]:
    """The synthetic tenant, its org file, then `org_data` and `group_activity` in one run of their own."""
    from dagster import materialize

    from reporting_assets.assets.users import build_user_assets
    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import (
        group_activity,
        group_segments,
        org_memberships,
        user_activities,
        user_engagement,
    )
    from reporting_assets_tests.synthetic import write_users

    url = f"sqlite:///{base / 'org_groups.db'}"
    warehouse = Warehouse(url=url)
    write_users(warehouse, start, days, 1, users)
    engagement = [a for a in build_user_assets(budget_mb) if a.key.to_user_string() == user_engagement.name]
    materialize(engagement, resources={"warehouse": warehouse})  # the segments' input, not timed (raises on failure)
    path = base / "org.csv"
    path.write_text(org_file(users, groups, start, days))
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    timed = base / "org_groups.json"
    figures = run(
        [sys.executable, "-c", CHILD, url, str(path), str(budget_mb), str(timed)], env, base / "org_groups.log"
    )
    figures.update(json.loads(timed.read_text()))
    out = {
        "users": users,
        "groups": groups,
        "days": days,
        "budget_mb": budget_mb,
        "activity_rows": warehouse.count(user_activities),
        "memberships": warehouse.count(org_memberships),
        "group_rows": warehouse.count(group_activity),
        "segment_rows": warehouse.count(group_segments),
        **figures,
    }
    warehouse.engine.dispose()
    return out


def groups_page(base: Path, start: date, days: int, companies: int, groups: int) -> dict[str, Any]:
    """The dashboard of `days` x `companies` (synthetic KPI tables) without, then with, `groups` departments per
    company in `group_activity` at every grain over the whole range and in `group_segments` (synthetic, all at or
    above the minimum size)."""
    import pandas as pd

    from reporting_assets.warehouse.store import Warehouse
    from reporting_assets.warehouse.tables import SEGMENT_COLUMNS, group_activity, group_segments
    from reporting_assets_tests.synthetic import write_instance
    from scripts.bench.reports import render

    url = f"sqlite:///{base / 'groups_page.db'}"
    warehouse = Warehouse(url=url)
    write_instance(warehouse, start, days, companies, resources=1)
    without = render(url, base / "without_groups.html")
    rng = np.random.default_rng(7)
    dates = pd.date_range(start, periods=days, freq="D")
    periods = {g: pd.Series(dates.to_period(p).start_time.unique()) for g, p in (("day", "D"), ("week", "W-SUN"),
                                                                                  ("month", "M"))}  # fmt: skip
    frames = []
    for grain, starts in periods.items():
        n = companies * groups * len(starts)
        headcount = np.tile(rng.integers(10, 80, companies * groups), len(starts))
        frames.append(pd.DataFrame({
            "company_id": np.tile(np.repeat(np.arange(1, companies + 1), groups), len(starts)),
            "attribute": "department",
            "group_name": np.tile([f"Department {k:02d}" for k in range(groups)], companies * len(starts)),
            "grain": grain,
            "period_start": np.repeat(starts.dt.date.to_numpy(), companies * groups),
            "headcount": headcount,
            "active_users": rng.binomial(headcount, 0.4),
            "sessions_count": rng.integers(0, 200, n),
            "queries_count": rng.integers(0, 600, n),
        }))  # fmt: skip
    rows = warehouse.replace_where(group_activity, frames)
    heads = rng.integers(10, 80, companies * groups)
    active = rng.binomial(heads, 0.6)
    segments = pd.DataFrame({
        "company_id": np.repeat(np.arange(1, companies + 1), groups), "attribute": "department",
        "group_name": np.tile([f"Department {k:02d}" for k in range(groups)], companies),
        "as_of_date": dates[-1].date(), "headcount": heads,
        **{c: rng.binomial(heads, 0.15) for c in SEGMENT_COLUMNS},
        "active_users_30d": active, "sessions_30d": active * 6, "active_users_prior_30d": rng.binomial(heads, 0.55),
    })  # fmt: skip
    rows += warehouse.replace_where(group_segments, segments)
    warehouse.engine.dispose()
    with_groups = render(url, base / "with_groups.html")
    return {"companies": companies, "days": days, "groups": groups, "group_rows": rows,
            "without": without, "with": with_groups}  # fmt: skip
