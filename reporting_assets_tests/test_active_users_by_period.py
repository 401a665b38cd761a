"""People per period (`active_users_by_period`, the contract's `fct_active_users`): the distinct users the API
served in each day, ISO week, month, quarter and year, the members on the period's last snapshot, how much of the
period is loaded; only the periods a run touches are recomputed, within the memory budget; a period whose per-user
rows were purged never goes down."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from reporting_assets.assets import periods
from reporting_assets.assets.periods import Period, build_period_asset, period_of
from reporting_assets.bi import views
from reporting_assets.bi.contract import VIEWS
from reporting_assets.simulator.data import company_day
from reporting_assets.users import privacy
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import GRAINS, active_users_by_period, company_members
from reporting_assets_tests.bi_warehouse import COMPANIES, FIRST, LAST
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, PARTITIONS, run

pytestmark = pytest.mark.xdist_group("bi")  # the BI warehouses, built once per worker of the group


@pytest.fixture(params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, bi_warehouses) -> Warehouse:
    root = request.getfixturevalue("postgres_root") if request.param == "postgres" else None
    return bi_warehouses(request.param, root)


def test_period_of_gives_iso_weeks_months_quarters_and_years():
    assert period_of(date(2025, 1, 1), "week") == Period("week", date(2024, 12, 30), date(2025, 1, 5))
    assert period_of(date(2024, 2, 29), "month") == Period("month", date(2024, 2, 1), date(2024, 2, 29))
    assert period_of(date(2025, 12, 31), "month").end == date(2025, 12, 31)
    assert period_of(date(2025, 11, 30), "quarter") == Period("quarter", date(2025, 10, 1), date(2025, 12, 31))
    assert period_of(date(2025, 5, 17), "year") == Period("year", date(2025, 1, 1), date(2025, 12, 31))
    assert [p.grain for p in periods.touched(date(2025, 1, 31), date(2025, 1, 31))] == sorted(GRAINS)


def _served(first: date, last: date) -> pd.DataFrame:
    """Straight from the simulator's data (what the API served): one row per company, day and user."""
    rows = [
        (c.id, first + timedelta(days=n), user["user_id"])
        for c in COMPANIES
        for n in range((last - first).days + 1)
        if (day := company_day(7, c, first + timedelta(days=n)))
        for user in day["users"]
    ]
    return pd.DataFrame(rows, columns=["company_id", "date", "user_id"])


def test_people_per_period_are_the_distinct_users_the_api_served_on_both_databases(loaded: Warehouse):
    served = _served(FIRST, LAST)
    with loaded.engine.connect() as conn:
        name = views.qualified(conn, VIEWS["fct_active_users"], views.schema_of(conn))
        contract = pd.read_sql(sa.text(f"SELECT * FROM {name}"), conn)
    contract["period_start"] = pd.to_datetime(contract["period_start"]).dt.date
    members = loaded.read(company_members).sort_values("date").groupby("company_id")["current_active_members"]
    for grain in GRAINS:
        expected = served.assign(period_start=[period_of(d, grain).start for d in served["date"]])
        starts = sorted({period_of(FIRST + timedelta(days=n), grain).start for n in range((LAST - FIRST).days + 1)})
        every = pd.MultiIndex.from_product([[c.id for c in COMPANIES], starts], names=["company_id", "period_start"])
        # every company has members on every day loaded: a period with nobody active is 0 people, not missing
        people = expected.groupby(["company_id", "period_start"])["user_id"].nunique().reindex(every, fill_value=0)
        got = contract[contract["grain"] == grain].set_index(["company_id", "period_start"])
        assert got["active_users"].sort_index().to_dict() == people.to_dict(), grain
        for (_, start), row in got.iterrows():
            shown = period_of(start, grain)
            loaded_days = (min(shown.end, LAST) - max(shown.start, FIRST)).days + 1
            assert (row["days_in_period"], row["days_loaded"]) == (shown.days, loaded_days), (grain, start)
        assert (got["members"] == members.last().reindex(got.index.get_level_values(0)).to_numpy()).all()
        share = got["active_users"] / got["members"]
        assert got["adoption_rate"].to_numpy() == pytest.approx(share.to_numpy()) and (share <= 1).all()
    month = contract[(contract["grain"] == "month") & (contract["period_start"] == date(2025, 1, 1))]
    assert len(month) == len(COMPANIES) and (month["days_loaded"] == month["days_in_period"]).all()
    in_progress = contract[(contract["grain"] == "month") & (contract["period_start"] == date(2025, 2, 1))]
    assert (in_progress["days_loaded"] == 1).all() and (in_progress["days_in_period"] == 28).all()
    assert "fct_active_users" in [v.name for v in views.expected(user_lists=False)]  # counts, not people


@pytest.fixture
def january(simulator: RunningSimulator, tmp_path) -> Warehouse:
    """User activities of 2025-01-01..2025-02-09 and their periods, in a SQLite warehouse of the test's own."""
    from reporting_assets_tests.helpers import raw_assets

    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}")
    activities = [a for a in raw_assets if a.key.path[-1] == "user_activities"]
    resources = {"warehouse": warehouse, "paradigm": simulator.resource()}
    assert run(
        [*activities, build_period_asset(PARTITIONS, MEMORY_BUDGET_MB)], resources, "2025-01-01", "2025-02-09"
    ).success
    return warehouse


def _stored(warehouse: Warehouse) -> pd.DataFrame:
    frame = warehouse.read(active_users_by_period)
    frame["period_start"] = pd.to_datetime(frame["period_start"]).dt.date
    return frame.set_index(periods.KEYS).sort_index()


def test_a_run_recomputes_the_periods_its_days_touch_and_no_other(january: Warehouse):
    before = _stored(january)
    with january.engine.begin() as conn:  # two stored figures go wrong: January's (touched below) and February's
        conn.execute(active_users_by_period.update().values(active_users=999_999))
    assert run([build_period_asset(PARTITIONS, MEMORY_BUDGET_MB)], {"warehouse": january}, "2025-01-15").success
    after = _stored(january)
    touched = {(p.grain, p.start) for p in periods.touched(date(2025, 1, 15), date(2025, 1, 15))}
    mask = [(g, s) in touched for _, g, s in after.index]
    pd.testing.assert_frame_equal(after[mask], before[mask])
    assert (after[[not m for m in mask]]["active_users"] == 999_999).all()
    assert ("month", date(2025, 2, 1)) not in touched and ("year", date(2025, 1, 1)) in touched


def test_a_small_memory_budget_counts_a_period_at_a_time_with_the_same_result(january: Warehouse):
    whole = _stored(january)
    done = periods.refresh(january, date(2025, 1, 1), date(2025, 2, 9), budget=1)  # one period per query
    assert done.periods == len(periods.touched(date(2025, 1, 1), date(2025, 2, 9)))
    pd.testing.assert_frame_equal(_stored(january), whole)


def test_a_period_whose_per_user_rows_were_purged_never_goes_down(january: Warehouse):
    before = _stored(january)
    purged = privacy.purge(january.engine, date(2025, 1, 20), datetime(2025, 3, 1, tzinfo=UTC))
    assert sum(purged.values()) > 0
    assert run(
        [build_period_asset(PARTITIONS, MEMORY_BUDGET_MB)], {"warehouse": january}, "2025-01-01", "2025-02-09"
    ).success
    after = _stored(january)
    assert after.index.equals(before.index)
    assert (after["active_users"] >= before["active_users"]).all()
    january_month = ("month", date(2025, 1, 1))
    kept = [i for i in after.index if i[1:] == january_month]
    assert (after.loc[kept, "active_users"] == before.loc[kept, "active_users"]).all()  # the purged month: as stored
    # a day before the purge line, counted from nothing now, keeps its figure; February is counted anew
    assert (after.xs(("day", date(2025, 1, 5)), level=(1, 2))["active_users"] > 0).all()
    assert after.xs(("month", date(2025, 2, 1)), level=(1, 2))["active_users"].equals(
        before.xs(("month", date(2025, 2, 1)), level=(1, 2))["active_users"]
    )
