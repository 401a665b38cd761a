"""KPI assets: values equal an independent computation, ranged = day by day, edge cases, NULL never NaN."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from reporting_assets.warehouse import ledger, tables
from reporting_assets.warehouse.store import Warehouse
from reporting_assets_tests.helpers import kpi_assets, raw_assets, run

KPI_NAMES = ["adoption_satisfaction", "resource_usage", "user_activity"]
START, END = date(2025, 2, 1), date(2025, 2, 14)


def kpi_snapshot(warehouse: Warehouse) -> dict[str, pd.DataFrame]:
    return {name: warehouse.read(tables.KPI_TABLES[name]) for name in KPI_NAMES}


def days(lo: date, hi: date) -> list[date]:
    return [lo + timedelta(days=i) for i in range((hi - lo).days + 1)]


def rate(num: float, den: float) -> float | None:
    return num / den if den else None


def expected_adoption(sessions: pd.DataFrame, feedbacks: pd.DataFrame) -> dict[tuple, dict]:
    """Written plainly, per day and company, from the raw rows (no asset helper involved)."""
    out = {}
    companies = set(sessions.company_id) | set(feedbacks.company_id)
    for d in days(START, END):
        for c in companies:
            window = [d - timedelta(days=k) for k in range(7)]
            s_win = sessions[(sessions.company_id == c) & sessions.date.isin(window)]
            f_win = feedbacks[(feedbacks.company_id == c) & feedbacks.date.isin(window)]
            if s_win.empty and f_win.empty:
                continue
            s = s_win[s_win.date == d]
            f = f_win[f_win.date == d]
            likes, dislikes = int(f.likes_count.sum()), int(f.dislikes_count.sum())
            responses = int(s.model_responses_count.sum()) if len(s) else int(f.model_responses_count.sum())
            out[(d, c)] = {
                "sessions_count": int(s.sessions_count.sum()),
                "model_responses_count": responses,
                "likes_count": likes,
                "feedback_rate": rate(likes + dislikes, responses),
                "satisfaction_rate": rate(likes, likes + dislikes),
                "queries_per_session": rate(s.user_queries_count.sum(), s.sessions_count.sum()),
                "sessions_7d": int(s_win.sessions_count.sum()),
                "satisfaction_rate_7d": rate(
                    f_win.likes_count.sum(), f_win.likes_count.sum() + f_win.dislikes_count.sum()
                ),
            }
    return out


def expected_users(users: pd.DataFrame, sessions: pd.DataFrame) -> dict[tuple, dict]:
    out = {}
    for d in days(START, END):
        for c in set(users.company_id):

            def active(n: int, c: int = c, d: date = d) -> set[int]:
                since = d - timedelta(days=n - 1)
                u = users[(users.company_id == c) & (users.date >= since) & (users.date <= d)]
                return set(u.user_id)

            if not active(30):
                continue
            s = sessions[(sessions.company_id == c) & (sessions.date == d)]
            out[(d, c)] = {
                "active_users": len(active(1)),
                "active_users_7d": len(active(7)),
                "active_users_30d": len(active(30)),
                "stickiness": rate(len(active(1)), len(active(30))),
                "queries_per_active_user": rate(s.user_queries_count.sum(), len(active(1))),
            }
    return out


def assert_rows_match(actual: pd.DataFrame, expected: dict[tuple, dict], key: list[str]) -> None:
    got = {tuple(r[k] for k in key): r for r in actual.to_dict("records")}
    assert got.keys() == expected.keys()
    for k, want in expected.items():
        for column, value in want.items():
            if value is None:
                assert pd.isna(got[k][column]), (k, column)
            else:
                assert got[k][column] == pytest.approx(value), (k, column)


@pytest.fixture
def loaded(simulator, warehouse):
    """Raw data for January-February 14 (enough history for 30-day windows), KPIs for February 1-14."""
    res = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run(raw_assets, res, "2025-01-01", str(END)).success
    assert run(kpi_assets, res, str(START), str(END)).success
    return warehouse


def test_adoption_and_user_kpis_equal_an_independent_computation(loaded):
    raw = {name: loaded.read(t) for name, t in tables.RAW_TABLES.items()}
    assert_rows_match(
        kpi_snapshot(loaded)["adoption_satisfaction"],
        expected_adoption(raw["chat_sessions"], raw["chat_feedbacks"]),
        ["date", "company_id"],
    )
    assert_rows_match(
        kpi_snapshot(loaded)["user_activity"],
        expected_users(raw["user_activities"], raw["chat_sessions"]),
        ["date", "company_id"],
    )


def test_resource_usage_equals_an_independent_computation(loaded):
    raw_docs = loaded.read(tables.used_documents)
    raw_tools = loaded.read(tables.tools_usage)
    expected = {}
    for kind, frame, id_col, name_col in (
        ("document", raw_docs, "document_id", "document_title"),
        ("tool", raw_tools, "tool_name", "tool_name"),
    ):
        frame = frame[(frame.date >= START) & (frame.date <= END)]
        for (d, c), group in frame.groupby(["date", "company_id"]):
            total = group.usage_count.sum()
            counts = sorted(group.usage_count, reverse=True)
            for row in group.itertuples():
                expected[(d, c, kind, str(getattr(row, id_col)))] = {
                    "resource_name": getattr(row, name_col),
                    "usage_count": row.usage_count,
                    "share": row.usage_count / total,
                    "rank": counts.index(row.usage_count) + 1,
                }
    actual = kpi_snapshot(loaded)["resource_usage"]
    key = ["date", "company_id", "resource_type", "resource_id"]
    got = {tuple(r[k] for k in key): r for r in actual.to_dict("records")}
    assert got.keys() == expected.keys()
    for k, want in expected.items():
        assert got[k]["resource_name"] == want["resource_name"]
        assert got[k]["usage_count"] == want["usage_count"] and got[k]["rank"] == want["rank"]
        assert got[k]["share"] == pytest.approx(want["share"])


def test_kpi_metadata_gives_each_days_totals(simulator, tmp_path):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    res = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run(raw_assets, res, "2025-01-06", "2025-01-07").success
    result = run(kpi_assets, res, "2025-01-06", "2025-01-07")
    sessions = warehouse.read(tables.chat_sessions)
    for mat in result.asset_materializations_for_node("adoption_satisfaction"):
        day = sessions[sessions.date.map(str) == mat.partition]
        assert mat.metadata["sessions"].value == day.sessions_count.sum()
    tools = warehouse.read(tables.tools_usage)
    [mat] = [m for m in result.asset_materializations_for_node("resource_usage") if m.partition == "2025-01-07"]
    day = tools[tools.date == date(2025, 1, 7)].groupby("tool_name").usage_count.sum()
    assert mat.metadata["top_tool"].value == day.idxmax()
    [users] = [m for m in result.asset_materializations_for_node("user_activity") if m.partition == "2025-01-07"]
    activities = warehouse.read(tables.user_activities)
    assert users.metadata["active_users"].value == (activities.date == date(2025, 1, 7)).sum()


def test_a_ranged_run_equals_single_day_runs(simulator, tmp_path):
    """10 KPI days after 20 raw ones: every 7- and 30-day window of the ranged run crosses its start, as each
    single-day run's does (chunk edges at any day are covered by test_kpi_chunks.py)."""
    ranged = Warehouse(url=f"sqlite:///{tmp_path / 'ranged.db'}")
    by_day = Warehouse(url=f"sqlite:///{tmp_path / 'by_day.db'}")
    for warehouse in (ranged, by_day):
        assert run(
            raw_assets, {"paradigm": simulator.resource(), "warehouse": warehouse}, "2025-01-01", "2025-01-30"
        ).success
    assert run(kpi_assets, {"warehouse": ranged}, "2025-01-21", "2025-01-30").success
    for day in days(date(2025, 1, 21), date(2025, 1, 30)):
        assert run(kpi_assets, {"warehouse": by_day}, str(day)).success
    a, b = kpi_snapshot(ranged), kpi_snapshot(by_day)
    for name in KPI_NAMES:
        assert len(a[name]) >= 10 and a[name]["date"].min() == date(2025, 1, 21)
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


# --- edge cases on hand-made raw rows -------------------------------------------------------------------------

D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)
LOADED_FROM = D1 - timedelta(days=30)  # every window of D1..D3 is loaded, 30-day ones included
NOW = datetime(2025, 3, 6, tzinfo=UTC)


def write(warehouse: Warehouse, table, rows: list[dict], first: date = LOADED_FROM, last: date = D3) -> None:
    """Raw rows of `table`, and its days `first..last` in the load ledger, as a raw asset writes them."""
    frame = pd.DataFrame([{"ingested_at": NOW, **r} for r in rows], columns=[c.name for c in table.columns])
    days = ledger.day_counts(frame, first, last, None)
    warehouse.replace(table, first, last, frame, loaded=ledger.entries(table.name, days, "test"))


def company(cid: int) -> dict:
    return {"company_id": cid, "company_name": f"Company {cid}"}


@pytest.fixture
def edge_cases(warehouse):
    """Company 1 is active on D1 only; company 2 has feedback but no sessions; company 3 has sessions, no tools."""
    write(
        warehouse,
        tables.chat_sessions,
        [
            {"date": D1, **company(1), "sessions_count": 10, "user_queries_count": 30, "model_responses_count": 30},
            {"date": D1, **company(3), "sessions_count": 4, "user_queries_count": 8, "model_responses_count": 0},
        ],
    )
    write(
        warehouse,
        tables.chat_feedbacks,
        [
            {
                "date": D1,
                **company(2),
                "model_responses_count": 5,
                "likes_count": 2,
                "dislikes_count": 2,
                "copies_count": 0,
            },
            {
                "date": D1,
                **company(3),
                "model_responses_count": 0,
                "likes_count": 0,
                "dislikes_count": 0,
                "copies_count": 0,
            },
        ],
    )
    write(
        warehouse,
        tables.used_documents,
        [
            {"date": D1, **company(1), "document_id": 7, "document_title": "Shared", "usage_count": 3},
            {"date": D1, **company(1), "document_id": 8, "document_filename": "untitled.pdf", "usage_count": 1},
            {"date": D1, **company(3), "document_id": 7, "document_title": "Shared", "usage_count": 5},
        ],
    )
    write(
        warehouse,
        tables.tools_usage,
        [
            {"date": D1, **company(1), "tool_name": "web_search", "usage_count": 4},
            {"date": D1, **company(1), "tool_name": "translation", "usage_count": 4},
        ],
    )
    write(
        warehouse,
        tables.user_activities,
        [
            {"date": D1, **company(1), "user_id": 11, "sessions_count": 6, "queries_count": 20},
            {"date": D1, **company(1), "user_id": 12, "sessions_count": 4, "queries_count": 10},
        ],
    )
    assert run(kpi_assets, {"warehouse": warehouse}, str(D1), str(D2)).success
    return kpi_snapshot(warehouse)


def row(frame: pd.DataFrame, **where) -> dict:
    match = frame
    for column, value in where.items():
        match = match[match[column] == value]
    [record] = match.to_dict("records")
    return record


def test_a_day_without_feedback_has_null_satisfaction(edge_cases):
    acme = row(edge_cases["adoption_satisfaction"], date=D1, company_id=1)
    assert acme["likes_count"] == 0 and acme["feedback_rate"] == 0.0
    assert pd.isna(acme["satisfaction_rate"]) and pd.isna(acme["satisfaction_rate_7d"])
    assert acme["queries_per_session"] == 3.0


def test_a_company_in_one_parent_only_still_gets_its_row(edge_cases):
    feedback_only = row(edge_cases["adoption_satisfaction"], date=D1, company_id=2)
    assert feedback_only["sessions_count"] == 0 and pd.isna(feedback_only["queries_per_session"])
    assert feedback_only["model_responses_count"] == 5 and feedback_only["satisfaction_rate"] == 0.5


def test_zero_responses_give_null_rates_not_nan_or_infinity(edge_cases, warehouse):
    no_answers = row(edge_cases["adoption_satisfaction"], date=D1, company_id=3)
    assert pd.isna(no_answers["feedback_rate"]) and pd.isna(no_answers["satisfaction_rate"])
    with warehouse.engine.connect() as conn:
        t = tables.adoption_satisfaction
        nulls = conn.execute(t.select().where(t.c.company_id == 3, t.c.date == D1, t.c.feedback_rate.is_(None))).all()
    assert len(nulls) == 1  # a real SQL NULL, which BI tools understand, not a NaN float


def test_a_day_with_zero_activity_keeps_rolling_figures(edge_cases):
    quiet = row(edge_cases["adoption_satisfaction"], date=D2, company_id=1)
    assert quiet["sessions_count"] == 0 and quiet["sessions_7d"] == 10
    users = row(edge_cases["user_activity"], date=D2, company_id=1)
    assert users["active_users"] == 0 and users["active_users_7d"] == 2 and users["stickiness"] == 0.0
    assert not (edge_cases["resource_usage"]["date"] == D2).any()


def test_a_company_with_sessions_but_no_tools_has_only_document_rows(edge_cases):
    usage = edge_cases["resource_usage"]
    assert set(usage[usage.company_id == 3].resource_type) == {"document"}


def test_a_document_used_by_two_companies_is_counted_per_company(edge_cases):
    usage = edge_cases["resource_usage"]
    shared = usage[(usage.resource_type == "document") & (usage.resource_id == "7")]
    assert dict(zip(shared.company_id, shared.usage_count, strict=True)) == {1: 3, 3: 5}
    assert dict(zip(shared.company_id, shared.share, strict=True)) == {1: 0.75, 3: 1.0}
    untitled = row(usage, company_id=1, resource_id="8")
    assert untitled["resource_name"] == "untitled.pdf" and untitled["rank"] == 2


def test_tied_tools_share_rank_one(edge_cases):
    tools = edge_cases["resource_usage"]
    tools = tools[tools.resource_type == "tool"]
    assert list(tools["rank"]) == [1, 1] and list(tools["share"]) == [0.5, 0.5]
