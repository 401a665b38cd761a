"""Reports at an instance admin's size: synthetic instances written through the warehouse (as the bench does),
the dashboard read in Debian's chromium against SQL on the same tables, and the digest within a channel's size."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, materialize

from reporting_assets.assets.users import build_user_assets
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.metrics import ALL_COMPANIES_ID
from reporting_assets.reports.dashboard import render
from reporting_assets.reports.digest import CompanyWeek, DigestModel, compose, text
from reporting_assets.reports.figures import NEEDS_30_DAYS, NO_MEMBERS
from reporting_assets.reports.users import NO_USERS
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    adoption_satisfaction,
    company_members,
    resource_usage,
    user_activities,
    user_activity,
    user_engagement,
)
from reporting_assets_tests.browser import opened, pick, placeholders
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB
from reporting_assets_tests.synthetic import write_instance, write_users

pytestmark = pytest.mark.xdist_group("instance_reports")
NOW = datetime(2026, 1, 10, 8, tzinfo=UTC)  # the dashboard's clock: nothing here depends on the day it runs
HOSTILE = '</script><img src=x onerror="window.pwned=1">Evil & Co'


def _sql(warehouse: Warehouse, query) -> object:
    with warehouse.engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> tuple[Warehouse, Path]:
    """50 companies x 2 years, company 7 named by someone hostile, and the dashboard rendered from it."""
    base = tmp_path_factory.mktemp("large")
    warehouse = Warehouse(url=f"sqlite:///{base / 'reporting.db'}")
    write_instance(warehouse, date(2024, 1, 1), 731, 50, resources=2)
    write_users(warehouse, date(2025, 9, 3), 120, 50)  # the last 120 days, 40 users a company
    with warehouse.engine.begin() as conn:
        for table in (adoption_satisfaction, user_activity, company_members, resource_usage, user_activities):
            conn.execute(table.update().where(table.c.company_id == 7).values(company_name=HOSTILE))
        conn.execute(resource_usage.update().where(resource_usage.c.rank == 1).values(resource_name=HOSTILE))
    per_user = build_user_assets(MEMORY_BUDGET_MB)
    assert materialize(per_user, resources={"warehouse": warehouse}, instance=DagsterInstance.ephemeral()).success
    path = base / "usage_dashboard.html"
    path.write_text(render(warehouse.engine, NOW, user_lists=True, lang=ENGLISH, kpis=NO_KPIS).html, encoding="utf-8")
    return warehouse, path


def test_a_large_instance_draws_every_chart_shows_no_placeholder_and_escapes_names(large, chromium: str) -> None:
    _, path = large
    assert path.stat().st_size < 5_000_000
    with opened(chromium, path) as page:
        drawn = [page.eval_on_selector_all(f"#chart-{i} svg .mark-line path", "ps => ps.length") for i in range(5)]
        bars = page.eval_on_selector_all("#chart-months svg .mark-rect path", "ps => ps.length")
        cells = page.eval_on_selector_all("#chart-cohorts svg .mark-text.role-mark text", "ts => ts.length")
        shown = placeholders(page)
        pick(page, f"{HOSTILE} (7)")
        heading = page.inner_text("#headline-company")
        top = page.inner_text("#table-top")
        users = page.inner_text("#table-top_users")
        injected = page.evaluate("() => [window.pwned, document.querySelectorAll('img').length]")
        shown += placeholders(page)
    assert drawn == [2, 2, 1, 3, 2] and shown == []
    assert bars >= 8 and cells == 10  # the cohorts of Sep..Dec 2025: 4 + 3 + 2 + 1 months
    assert heading == HOSTILE and HOSTILE in top and HOSTILE in users  # shown as text, never run
    assert injected == [None, 0]


def test_the_headline_figures_equal_sql_on_the_same_tables(large, chromium: str) -> None:
    warehouse, path = large
    last = _sql(warehouse, sa.select(sa.func.max(adoption_satisfaction.c.date)))
    a, u, m = adoption_satisfaction.c, user_activity.c, company_members.c
    week = a.date.between(last - timedelta(days=6), last)
    sessions = _sql(warehouse, sa.select(sa.func.sum(a.sessions_count)).where(week))
    before = _sql(
        warehouse,
        sa.select(sa.func.sum(a.sessions_count)).where(
            a.date.between(last - timedelta(days=13), last - timedelta(days=7))
        ),
    )
    queries = _sql(warehouse, sa.select(sa.func.sum(a.user_queries_count)).where(week))
    likes = _sql(warehouse, sa.select(sa.func.sum(a.likes_count)).where(week))
    rated = likes + _sql(warehouse, sa.select(sa.func.sum(a.dislikes_count)).where(week))
    actives = _sql(warehouse, sa.select(sa.func.sum(u.active_users_30d)).where(u.date == last))
    members = _sql(warehouse, sa.select(sa.func.sum(m.current_active_members)).where(m.date == last))
    with opened(chromium, path) as page:
        cards = page.eval_on_selector_all(
            "#headline .card",
            "cs => cs.map(c => [c.querySelector('.value').textContent, c.querySelector('.change').textContent])",
        )
        stamp = page.inner_text("#data-through")
    assert stamp == ENGLISH.date(last)
    assert [value for value, _ in cards] == [
        f"{actives:,}",
        f"{actives / members:.1%}",
        f"{sessions:,}",
        f"{queries:,}",
        f"{likes / rated:.1%}",
    ]
    assert cards[2][1] == f"{round((sessions - before) / before * 100):+d}% vs the 7 days before"


def test_the_daily_csv_download_equals_sql(large, chromium: str) -> None:
    warehouse, path = large
    with opened(chromium, path) as page:
        with page.expect_download() as download:
            page.click("button[data-csv=daily]")
        csv = Path(download.value.path()).read_text(encoding="utf-8-sig")
        with page.expect_download() as download:
            page.click("button[data-csv=top]")
        top = pd.read_csv(Path(download.value.path()), encoding="utf-8-sig")
    got = pd.read_csv(io.StringIO(csv))
    got = got[got["company_id"] != 0]
    assert pd.api.types.is_integer_dtype(got["sessions_count"]) and len(got) == 50 * 90
    last = got["date"].max()
    with warehouse.engine.connect() as conn:
        query = sa.select(
            adoption_satisfaction.c.company_id,
            adoption_satisfaction.c.date,
            adoption_satisfaction.c.sessions_count,
            adoption_satisfaction.c.user_queries_count,
        ).where(adoption_satisfaction.c.date > date.fromisoformat(last) - timedelta(days=90))
        expected = pd.read_sql(query, conn)
    expected["date"] = expected["date"].astype(str)
    merged = got.merge(expected, on=["company_id", "date"], suffixes=("", "_sql"), validate="1:1")
    assert len(merged) == len(got)
    assert (merged["sessions_count"] == merged["sessions_count_sql"]).all()
    assert (merged["user_queries_count"] == merged["user_queries_count_sql"]).all()
    assert {"company_id", "resource_name", "uses"} <= set(top.columns)
    assert pd.api.types.is_integer_dtype(top["uses"]) and len(top)


def test_the_users_section_equals_sql_and_its_csv_holds_every_listed_user(large, chromium: str) -> None:
    warehouse, path = large
    with warehouse.engine.connect() as conn:
        engaged = pd.read_sql(sa.select(user_engagement), conn)
    with opened(chromium, path) as page:
        funnel = page.eval_on_selector_all("#users .card .value", "vs => vs.map(v => v.textContent)")
        segments = page.eval_on_selector_all("#user-segments td", "tds => tds.map(td => td.textContent)")
        pick(page, "Company 3 (3)")
        own = page.eval_on_selector_all("#users .card .value", "vs => vs.map(v => v.textContent)")
        with page.expect_download() as download:
            page.click("button[data-csv=top_users]")
        listed = pd.read_csv(Path(download.value.path()), dtype={"user_id": str}, encoding="utf-8-sig")
        with page.expect_download() as download:
            page.click("button[data-csv=dormant_users]")
        dormant = pd.read_csv(Path(download.value.path()), dtype={"user_id": str}, encoding="utf-8-sig")
    active = engaged[engaged["active_days_30d"] > 0]
    assert funnel[1:4] == [f"{len(engaged):,}", f"{len(active):,}", f"{(engaged['segment'] == 'power').sum():,}"]
    counts = engaged["segment"].value_counts()
    assert segments == [f"{counts.get(s, 0):,}" for s in ("new", "power", "regular", "occasional", "dormant")] + ["0"]
    mine = engaged[engaged["company_id"] == 3]
    assert own[1:3] == [f"{len(mine):,}", f"{(mine['active_days_30d'] > 0).sum():,}"]
    # every user of the warehouse, in engagement order, with the warehouse's figures
    expected = engaged.sort_values(
        ["active_days_30d", "queries_30d", "last_active_date", "user_id"], ascending=[False, False, False, True]
    )
    assert listed["user_id"].tolist() == expected["user_id"].astype(str).tolist()
    merged = listed.merge(expected.assign(user_id=expected["user_id"].astype(str)), on="user_id", suffixes=("", "_sql"))
    for column in ("company_id", "active_days", "active_days_30d", "queries_30d"):
        assert (merged[column] == merged[f"{column}_sql"]).all(), column
    assert set(dormant["user_id"]) == set(engaged.loc[engaged["segment"] == "dormant", "user_id"].astype(str))


def test_ten_loaded_days_show_what_each_figure_waits_for(tmp_path: Path, chromium: str) -> None:
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    write_instance(warehouse, date(2025, 3, 3), 10, 3, resources=2, members_days=0)
    path = tmp_path / "usage_dashboard.html"
    path.write_text(render(warehouse.engine, NOW, user_lists=True, lang=ENGLISH, kpis=NO_KPIS).html, encoding="utf-8")
    with opened(chromium, path) as page:
        cards = page.eval_on_selector_all(
            "#headline .card",
            "cs => cs.map(c => [c.querySelector('.value').textContent, c.querySelector('.why').textContent])",
        )
        engagement = (page.is_visible("#chart-4"), page.inner_text("#note-4"))
        ticks = page.eval_on_selector_all("#chart-0 .role-axis-label text", "ts => ts.map(t => t.textContent)")
        users = (page.inner_text("#users-empty"), page.is_visible("#users"))
        shown = placeholders(page)
    assert cards[0] == ["–", NEEDS_30_DAYS] and cards[1] == ["–", NO_MEMBERS]
    assert not engagement[0] and NEEDS_30_DAYS in engagement[1]
    assert users == (NO_USERS, False)  # no per-user data: said, not drawn empty
    days = [t for t in ticks if t.startswith("Mar")]
    assert len(days) >= 5 and all(len(t.split()) == 2 and t.split()[1].isdigit() for t in days), ticks
    assert not any("AM" in t or "PM" in t for t in ticks)  # ticks on day boundaries only
    assert shown == []


def test_the_digest_of_200_companies_fits_a_channel_and_names_the_top_movers(tmp_path: Path) -> None:
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    write_instance(warehouse, date(2025, 1, 6), 21, 200, resources=2)  # Monday 2025-01-06 .. Sunday 2025-01-26
    digest = compose(warehouse.engine, "2025-W04", "https://reports.example.org/usage_dashboard.html", ENGLISH, NO_KPIS)
    assert len(digest.title) + len(digest.body) <= 12_000 and not digest.missing
    with warehouse.engine.connect() as conn:
        query = sa.select(user_activity.c.company_id, user_activity.c.date, user_activity.c.active_users_7d).where(
            user_activity.c.date.in_([date(2025, 1, 19), date(2025, 1, 26)])
        )
        sundays = pd.read_sql(query, conn).pivot(index="company_id", columns="date", values="active_users_7d")
    change = (sundays.iloc[:, 1] - sundays.iloc[:, 0]).rename("change").reset_index()
    grew = change[change["change"] > 0].sort_values(["change", "company_id"], ascending=[False, True]).head(5)
    fell = change[change["change"] < 0].sort_values(["change", "company_id"]).head(5)
    lines = digest.body.splitlines()
    for title, expected in (("Grew most", grew), ("Fell most", fell)):
        start = next(i for i, line in enumerate(lines) if line.startswith(title)) + 1
        assert [line.split(" (id ")[1].split(")")[0] for line in lines[start : start + 5]] == [
            str(c) for c in expected["company_id"]
        ]
    assert "200 companies" in digest.body and "https://reports.example.org/usage_dashboard.html" in digest.body
    assert "\n- sessions:" in digest.body and digest.body.count("\n- sessions:") == 1  # the totals' block alone


def _company(company_id: int, sessions: float | None, before: float | None, firing: int = 0) -> CompanyWeek:
    figures = {"sessions_count": sessions, "user_queries_count": None, "satisfaction_rate": None}
    previous = {"sessions_count": before, "user_queries_count": None, "satisfaction_rate": None}
    figures |= {"active_users": None, "adoption_rate": None}
    previous |= {"active_users": None, "adoption_rate": None}
    return CompanyWeek(company_id, f"Co {company_id}", figures, previous, None, None, 0, 0, firing)


def test_the_digest_text_is_a_function_of_its_model_alone() -> None:
    """No warehouse: 3 companies get a block each; 12 get the totals, movers (sessions, as active users are
    unknown), the companies with open alerts, and where the rest is; a week not loaded is named."""
    total = _company(0, 300, 200)
    small = DigestModel(
        "2025-W04", "2025-W03", date(2025, 1, 20), (), total, tuple(_company(i, 100, 50) for i in (1, 2, 3)), None
    )
    body = text(small, ENGLISH).body
    assert all(f"Co {i} (id {i})\n- sessions: 100 (+100%)" in body for i in (1, 2, 3))

    many = tuple(_company(i, 100 + i, 100, firing=int(i == 4)) for i in range(1, 13))
    missing = (date(2025, 1, 25),)
    large = DigestModel("2025-W04", "2025-W03", date(2025, 1, 20), missing, total, many, "https://x.example/d")
    digest = text(large, ENGLISH)
    assert digest.title == "Paradigm usage, week 2025-W04 (1 day not loaded)"
    assert "Not loaded: Jan 25, 2025. The figures cover 6 of 7 days" in digest.body
    assert "Grew most (sessions, week against the week before):\n- Co 12 (id 12): 112 (+12%)" in digest.body
    assert "Fell most (sessions, week against the week before):\n- none" in digest.body
    assert "Companies with open alerts: 1\n- Co 4 (id 4): 1 firing" in digest.body
    assert "12 companies: each of them, and every figure, is on the dashboard: https://x.example/d" in digest.body
    assert text(large, ENGLISH) == digest


POINTS = (
    "() => views[0].data('points').filter(r => r.value !== null).map(r => new Date(r.t).toISOString().slice(0, 10))"
)


def _ranges_and_grains(page) -> tuple[dict[str, list[str]], dict[str, bool], str]:
    """The days of the points with a value, at the default view and four others, and whether a day a point was
    offered."""
    seen, disabled = {"90/day": page.evaluate(POINTS)}, {}
    for control, value, view in (("#range", "all", "all/week"), ("#grain", "month", "all/month"),
                                 ("#range", "365", "365/month"), ("#grain", "week", "365/week")):  # fmt: skip
        page.select_option(control, value)
        page.wait_for_selector(f"body[data-view='{view}']")
        seen[view] = page.evaluate(POINTS)
        disabled[view] = page.is_disabled("#grain option[value=day]")
    return seen, disabled, page.inner_text("#range-note")


def test_a_reader_walks_the_large_page(large, chromium: str) -> None:
    """Range and grain: 90 days a day each by default; beyond 90 days no day a point is offered (weeks instead);
    weeks are ISO weeks (Mondays), months their first day. Then a reader's walk: sort, filter and pick in the
    companies side by side, every range at every grain (one series never mixes grains), the print, each step as
    `page_walk` checks it against the page's model (the bench walks its 3 years x 200 companies the same way, in
    English and in French)."""
    from reporting_assets_tests.page_walk import walk

    _, path = large
    with opened(chromium, path) as page:
        seen, disabled, note = _ranges_and_grains(page)
        walked = walk(page)
    days = sorted(set(seen["90/day"]))
    assert len(days) == 90 and days[-1] == "2025-12-31" and days[0] == "2025-10-03"
    assert disabled == {"all/week": True, "all/month": True, "365/month": True, "365/week": True} and "90" in note
    weeks, months = sorted(set(seen["365/week"])), sorted(set(seen["all/month"]))
    assert all(date.fromisoformat(d).weekday() == 0 for d in seen["all/week"] + weeks)  # Mondays only
    assert len(weeks) == 53 and weeks[0] == "2024-12-30" and weeks[-1] == "2025-12-29"
    assert months == [f"{y}-{m:02d}-01" for y in (2024, 2025) for m in range(1, 13)]
    assert sorted(set(seen["365/month"])) == months[12:]
    assert len(set(seen["all/week"])) == 104  # the weekly points: two years
    assert walked.views == 10 and walked.pdf_pages >= 2  # 30 and 90 days at 3 grains, 12 months and all at 2


@pytest.fixture(scope="module")
def two_thousand(tmp_path_factory) -> Warehouse:
    """2,000 companies x 14 days."""
    warehouse = Warehouse(url=f"sqlite:///{tmp_path_factory.mktemp('wide') / 'reporting.db'}")
    write_instance(warehouse, date(2025, 12, 1), 14, 2_000, resources=1)
    return warehouse


def test_two_thousand_companies_keep_the_page_bounded(two_thousand: Warehouse) -> None:
    """An instance of 2,000 companies: the picker and the side-by-side table hold the 250 most active, a note says
    how many others there are, "All companies" still counts every one, and the file stays far under 5 MB."""
    import json
    import re

    from reporting_assets.reports.dashboard import MAX_COMPANIES

    warehouse = two_thousand
    page = render(warehouse.engine, NOW, user_lists=True, lang=ENGLISH, kpis=NO_KPIS).html
    model = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    total = _sql(warehouse, sa.select(sa.func.sum(adoption_satisfaction.c.sessions_count)).where(
        adoption_satisfaction.c.date == date(2025, 12, 14)))  # fmt: skip
    assert len(model["companies"]) == MAX_COMPANIES + 1 and len(model["compare"]["rows"]) == MAX_COMPANIES
    assert model["companies"][0]["series"]["day"]["sessions_count"][-1] == total  # every company in the total
    assert f"{MAX_COMPANIES} most active companies of 2,000" in page and len(page.encode()) < 2_500_000
    top_ids = {row[0] for row in model["tables"]["top"]["rows"]}  # the top tools of the picker's companies only
    assert top_ids == {c["id"] for c in model["companies"]}


def test_the_days_of_many_companies_are_read_a_range_of_companies_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`figures.daily` over 600 companies, keeping the 25 most active: read 60 companies at a time, it gives what
    one pass gives (the kept companies' rows and the total of all 600), under a third of its traced peak."""
    import tracemalloc

    from reporting_assets.reports import figures

    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    write_instance(warehouse, date(2025, 12, 1), 14, 600, resources=1)
    coverage = figures.Coverage.read(warehouse.engine)
    first, last = coverage.span()
    keep = figures.most_active(warehouse.engine, first, last, 90).index[:25].tolist()
    frames, peaks = [], []
    for rows in (10**9, 60 * 20):  # 20 days a company: 14 and the 6 before the first (7-day windows)
        monkeypatch.setattr(figures, "GRID_ROWS", rows)
        tracemalloc.start()
        frames.append(figures.daily(warehouse.engine, coverage, first, last, keep=keep))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    whole, ranged = frames
    pd.testing.assert_frame_equal(ranged, whole)
    assert set(whole["company_id"]) == {*keep, ALL_COMPANIES_ID} and len(whole) == 26 * 14
    total = _sql(warehouse, sa.select(sa.func.sum(adoption_satisfaction.c.sessions_count)))
    assert whole.loc[whole["company_id"] == ALL_COMPANIES_ID, "sessions_count"].sum() == total
    assert peaks[1] < peaks[0] / 3, peaks
