"""The bench's targets in one place: each target's part, its bound and its check, what each row shows, and the
report table."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate


def _large(r: dict[str, Any], executor: str = "in_process") -> dict[str, Any]:
    """The large tenant's longest run with `executor`."""
    large = r["large"]
    return large[f"{max(large['days'])}d_{executor}"]


def _rss_spread(r: dict[str, Any]) -> float:
    """Relative spread of the peak RSS of the large tenant's in-process runs of different lengths."""
    rss = [v["rss_max_process_mb"] for k, v in r["large"].items() if k.endswith("d_in_process")]
    return max(rss) / min(rss) - 1


def _largest_step(run: dict[str, Any]) -> int:
    """The largest process's peak RSS: polled every 0.1 s (which may miss a step that ends between two polls) or
    as the steps report it (their process's `ru_maxrss`), whichever is larger."""
    return max(run["rss_max_process_mb"], *run.get("step_peak_rss_mb", {}).values())


# name -> (part, target, check); a part that did not run leaves its targets "skipped"
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
    "BI extracts on PostgreSQL, every company: peak RSS (MB)": (
        "bi_postgres",
        "≤ 500",
        lambda r: r["bi_postgres"]["extracts"]["rss_mb"] <= 500,
    ),
    "custom_kpis, 30 KPIs x 3 years x 200 companies: peak RSS (MB)": (
        "custom_kpis",
        "≤ 500",
        lambda r: r["custom_kpis"]["rss_max_process_mb"] <= r["custom_kpis"]["budget_mb"],
    ),
    "custom_kpis: the dashboard without and with the KPIs (MB)": (
        "custom_kpis",
        "with ≤ without + 1",
        lambda r: r["custom_kpis"]["dashboard"]["with"]["mb"] <= r["custom_kpis"]["dashboard"]["without"]["mb"] + 1,
    ),
    "org_groups: org_data and group_activity, 10,000 users x 50 groups x 1 year: peak RSS (MB)": (
        "org_groups",
        "≤ 500",
        lambda r: r["org_groups"]["rss_max_process_mb"] <= r["org_groups"]["budget_mb"],
    ),
    "org_groups: the dashboard with 20 groups x 200 companies x 3 years (MB)": (
        "org_groups",
        "< 5, render ≤ 60 s, ≤ 500 MB",
        lambda r: (p := r["org_groups"]["page"]["with"])["mb"] < 5 and p["wall_s"] <= 60 and p["rss_mb"] <= 500,
    ),
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
    "big instance dashboard: a reader's walk, en and fr": (
        "instance",
        "every check passes",
        lambda r: all(r["instance"][d].get("walk", {}).get("seconds") for d in ("dashboard", "dashboard_fr")),
    ),
    "widest instance dashboard: peak RSS (MB)": ("instance", "≤ 500", lambda r: r["instance"]["wide"]["rss_mb"] <= 500),
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


def _walk(dashboard: dict[str, Any], code: str) -> str:
    """A walk's figures: its slowest steps, or what failed."""
    walk = dashboard.get("walk", {})
    if "seconds" not in walk:
        return f"{code}: {walk.get('failed') or dashboard['drawn_s']}"
    seconds = walk["seconds"]
    views = [v for k, v in seconds.items() if k.startswith("view ")]
    steps = ", ".join(f"{k} {v} s" for k, v in seconds.items() if not k.startswith("view "))
    page = f"render {dashboard['wall_s']} s, {dashboard['mb']} MB"
    return f"{code} ({page}): {steps}, {walk['views']} views ≤ {max(views)} s"


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
        out["big instance dashboard: a reader's walk, en and fr"] = "; ".join(
            _walk(i[key], code) for key, code in (("dashboard", "en"), ("dashboard_fr", "fr"))
        )
        w = i["wide"]
        out["widest instance dashboard: peak RSS (MB)"] = (
            f"{w['rss_mb']} ({w['days']} days x {w['companies']:,} companies; render {w['wall_s']} s, "
            f"file {w['mb']} MB)"
        )
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
    if "bi_postgres" in r and "skipped" not in r["bi_postgres"]:
        b = r["bi_postgres"]
        size = f"{b['days']} days x {b['companies']} companies, {b['users']:,} users"
        out["BI extracts on PostgreSQL, every company: peak RSS (MB)"] = (
            f"{b['extracts']['rss_mb']} in {b['extracts']['wall_s']} s ({b['extracts']['rows']:,} rows; {size})"
        )
        out["BI extracts on PostgreSQL, one company"] = (
            f"{b['one_company']['rss_mb']} MB in {b['one_company']['wall_s']} s ({b['one_company']['rows']:,} rows)"
        )
        out["people per period over the whole range (active_users_by_period)"] = (
            f"{b['people']['wall_s']} s, {b['people']['rss_mb']} MB ({b['people']['periods']:,} periods, "
            f"{b['people']['rows']:,} rows)"
        )
    if "custom_kpis" in r:
        k = r["custom_kpis"]
        out["custom_kpis, 30 KPIs x 3 years x 200 companies: peak RSS (MB)"] = (
            f"{k['rss_max_process_mb']} in {k['wall_s']} s ({k['kpis']} KPIs, {k['days']} days x {k['companies']} "
            f"companies: {k['rows']:,} rows; budget {k['budget_mb']} MB)"
        )
        pages = k["dashboard"]
        out["custom_kpis: the dashboard without and with the KPIs (MB)"] = (
            f"{pages['without']['mb']} and {pages['with']['mb']} (render {pages['without']['wall_s']} s and "
            f"{pages['with']['wall_s']} s, peak RSS {pages['without']['rss_mb']} MB and {pages['with']['rss_mb']} MB)"
        )
    if "org_groups" in r:
        g = r["org_groups"]
        out["org_groups: org_data and group_activity, 10,000 users x 50 groups x 1 year: peak RSS (MB)"] = (
            f"{g['rss_max_process_mb']} in {g['wall_s']} s (org_data {g['org_data_s']} s, group_activity "
            f"{g['group_activity_s']} s; {g['activity_rows']:,} activity rows, {g['memberships']:,} memberships, "
            f"{g['group_rows']:,} group rows, {g['segment_rows']:,} segment rows; budget {g['budget_mb']} MB)"
        )
        page = g["page"]
        out["org_groups: the dashboard with 20 groups x 200 companies x 3 years (MB)"] = (
            f"{page['without']['mb']} and {page['with']['mb']} without and with ({page['group_rows']:,} group rows; "
            f"render {page['without']['wall_s']} s and {page['with']['wall_s']} s, peak RSS "
            f"{page['without']['rss_mb']} MB and {page['with']['rss_mb']} MB)"
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
