"""Org data and groups (REPORTING_ORG_DATA), on SQLite and PostgreSQL: the org file validated row by row, loaded as
pseudonymised, effective-dated memberships; the figures per group equal the distinct users the API served in each
group; no group below REPORTING_MIN_GROUP_SIZE is named anywhere, "(other)" is never below it, and the groups add
up to the company; an erased user's memberships stay out of every later load."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, materialize

from reporting_assets.assets.users import build_user_assets
from reporting_assets.bi import views
from reporting_assets.bi.contract import VIEWS
from reporting_assets.bi.publish import publish
from reporting_assets.org import groups
from reporting_assets.org.defs import build_group_activity, build_org_data
from reporting_assets.org.file import OTHER, UNASSIGNED, OrgFileError, parse
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.simulator.app import Simulator
from reporting_assets.simulator.data import DEFAULT_COMPANIES, Company, company_day, org_csv
from reporting_assets.users import privacy, pseudonyms
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    group_activity,
    group_segments,
    org_data_file,
    org_memberships,
    user_activities,
    user_engagement,
)
from reporting_assets_tests.conftest import TOKEN, RunningSimulator, serving_simulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, kpi_assets, raw_assets, run

MIN = 10
TEAM = Company(7_031, "Groupes SA", users=45, documents=3)
SEED = 13
FIRST, LAST = "2026-01-05", "2026-02-08"  # five ISO weeks, over January and February
MOVE = date(2026, 1, 19)  # the mover joins Mid that day
KEY = "a-test-key-of-32-characters-long"
NOW = datetime(2026, 2, 9, 6, tzinfo=UTC)
SMALL = ("Cellule-Neuf", "Solitaire")  # 9 people (the threshold - 1) and 1: never named


def _departments() -> dict[int, str]:
    """Raw user id -> department, before the move: Big 20, Mid exactly the threshold, 9, 1, and 5 unassigned."""
    sizes = [("Big", 20), ("Mid", MIN), (SMALL[0], MIN - 1), (SMALL[1], 1)]
    out, uid = {}, TEAM.id * 1000
    for name, size in sizes:
        for _ in range(size):
            uid += 1
            out[uid] = name
    return out


MOVER = TEAM.id * 1000 + 1  # in Big, then Mid from MOVE


def _org_file(tmp_path: Path, extra: str = "") -> Path:
    """The org file: BOM, `;`, a valid_from for the mover's second row; users 41-45 have no row."""
    lines = ["user_id;valid_from;department"]
    lines += [f"{uid};;{name}" for uid, name in _departments().items()]
    lines += [f"{MOVER};{MOVE};Mid", *([extra] if extra else [])]
    path = tmp_path / "org.csv"
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode())
    return path


def _group_on(uid: int, day: date) -> str:
    if uid == MOVER and day >= MOVE:
        return "Mid"
    return _departments().get(uid, UNASSIGNED)


def _served() -> pd.DataFrame:
    """What the API serves per user and day (the simulator's data, read directly), with each user's group."""
    rows = []
    day = date.fromisoformat(FIRST)
    while day <= date.fromisoformat(LAST):
        served = company_day(SEED, TEAM, day)
        for user in (served or {}).get("users", []):
            uid = user["user_id"]
            rows.append({"date": pd.Timestamp(day), "user_id": uid, "group": _group_on(uid, day),
                         "sessions": user["sessions_count"]})  # fmt: skip
        day += timedelta(days=1)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def team_api() -> Iterator[RunningSimulator]:
    with serving_simulator(Simulator(seed=SEED, token=TOKEN, companies=(TEAM,))) as api:
        yield api


def _org(
    api: RunningSimulator, warehouse: Warehouse, path: Path, key: str = "", instance: DagsterInstance | None = None
):
    assets = [build_org_data(str(path), None, lambda: NOW), build_group_activity(MIN, MEMORY_BUDGET_MB)]
    resources = {"paradigm": api.resource(user_id_key=key), "warehouse": warehouse}
    instance = instance or DagsterInstance.ephemeral()
    return materialize(assets, resources=resources, instance=instance, raise_on_error=False)


def _metadata(result, name: str) -> dict:
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(name)]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def _view(warehouse: Warehouse, name: str) -> pd.DataFrame:
    with warehouse.engine.connect() as conn:
        sql = f"SELECT * FROM {views.qualified(conn, VIEWS[name], views.schema_of(conn))}"
        return pd.read_sql(sa.text(sql), conn)


def test_each_bad_row_is_reported_by_line_column_and_why_and_the_good_ones_are_kept():
    text = (
        "user_id,company_id,valid_from,department,site\n"
        "1,7,,Sales,Paris\n"  # line 2: good
        ",7,,Sales,Paris\n"  # 3: empty key
        "abc,7,,Sales,Paris\n"  # 4: not an id
        "2,99,,Sales,Paris\n"  # 5: unknown company
        "3,7,2025-02-30,Sales,Paris\n"  # 6: bad date
        "1,7,,Legal,Lyon\n"  # 7: duplicate user on one day
        "4,7,2025-03-01,(other),Paris\n"  # 8: a reserved name
        "5,,,Legal,\n"  # 9: good (the one company), no site
    )
    parsed = parse(text.encode(), "org.csv", {7}, 7)
    assert [str(b) for b in parsed.bad] == [
        "line 3, user_id: empty: every row needs the user's Paradigm id",
        "line 4, user_id: not a Paradigm user id (a positive integer)",
        "line 5, company_id: unknown company: not in the warehouse",
        "line 6, valid_from: not a date YYYY-MM-DD",
        "line 7, user_id: the same user and day as line 2",
        "line 8, department: a reserved group name",
    ]
    kept = parsed.memberships.sort_values(["user_id", "attribute"])
    assert kept[["user_id", "attribute", "group_name"]].values.tolist() == [
        [1, "department", "Sales"], [1, "site", "Paris"], [5, "department", "Legal"],
    ]  # fmt: skip
    assert parsed.attributes == ["department", "site"] and not parsed.dated and parsed.rows == 8
    several = parse(text.encode(), "org.csv", {7, 8}, None)
    assert "line 9, company_id: empty, and the token sees several companies: say which" in map(str, several.bad)


@pytest.mark.parametrize(
    "data, why",
    [
        (b"department\nSales\n", "org.csv: no user_id column (the header has: department)"),
        (b"user_id\n1\n", "org.csv: no attribute column"),
        ("user_id;département\n1;Vente\n".encode("latin-1"), "org.csv: not UTF-8"),
        (b"user_id,site\n1,Paris\n", "org.csv: no company_id column, and the token sees several companies"),
    ],
)
def test_a_file_that_cannot_be_used_fails_naming_the_file_and_why(data: bytes, why: str):
    with pytest.raises(OrgFileError, match="^" + why.replace("(", r"\(").replace(")", r"\)")):
        parse(data, "org.csv", {7, 8}, None)


def test_no_group_below_the_minimum_is_named_and_other_never_is_below_it():
    """Groups of 1, threshold - 1, exactly the threshold, a small "(unassigned)", in one period; then groups all
    below the threshold together."""
    period = {"company_id": 7, "attribute": "department", "grain": "month", "period_start": pd.Timestamp("2026-01-01")}
    sizes = {"one": 1, "nine": MIN - 1, "ten": MIN, "big": 30, UNASSIGNED: 2}
    frame = pd.DataFrame(
        [{**period, "group_name": g, "headcount": n, "active_users": n, "sessions_count": 3 * n, "queries_count": n}
         for g, n in sizes.items()]
    )  # fmt: skip
    shown = groups.suppress(frame, MIN).set_index("group_name")
    assert set(shown.index) == {"ten", "big", OTHER}
    assert shown.loc[OTHER, "headcount"] == 1 + 2 + MIN - 1 >= MIN
    assert shown[groups.FIGURES].sum().tolist() == frame[groups.FIGURES].sum().tolist()  # nothing lost
    # "(other)" of 1 + 2 alone would be below the threshold: the next smallest groups join it until it is not
    close = frame[frame["group_name"].isin(["one", UNASSIGNED, "ten", "big"])]
    shown = groups.suppress(close, MIN).set_index("group_name")
    assert set(shown.index) == {"big", OTHER} and shown.loc[OTHER, "headcount"] == 1 + 2 + MIN
    # a company whose groups all together stay below the threshold shows none of them
    tiny = frame[frame["group_name"].isin(["one", UNASSIGNED])]
    assert groups.suppress(tiny, MIN).empty


def test_each_30_day_window_counts_its_users_in_their_group_of_its_last_day():
    """u2 moves from A to B ten days before the picture: the last 30 days count them in B, the 30 before in A; u4
    has no membership: "(unassigned)", whose headcount is its users."""
    as_of = pd.Timestamp("2026-03-31")
    memberships = pd.DataFrame(
        [(1, 1, pd.NaT, "A"), (1, 2, pd.NaT, "A"), (1, 2, as_of - pd.Timedelta(days=10), "B"), (1, 3, pd.NaT, "B")],
        columns=["company_id", "user_id", "valid_from", "group_name"],
    ).assign(attribute="department")
    engagement = pd.DataFrame(
        [(1, 1, "regular", 5, 7), (1, 2, "occasional", 1, 2), (1, 3, "dormant", 0, 0), (1, 4, "new", 2, 1)],
        columns=["company_id", "user_id", "segment", "active_days_30d", "sessions_30d"],
    )
    prior = pd.DataFrame([(1, 1), (1, 2), (1, 4)], columns=["company_id", "user_id"])
    got = groups.segments(engagement, memberships, as_of, prior).set_index("group_name")
    columns = ["headcount", "active_users_30d", "sessions_30d", "active_users_prior_30d"]
    assert got[columns].to_dict("split")["data"] == [[1, 1, 7, 2], [2, 1, 2, 0], [1, 1, 1, 1]]
    assert got.index.tolist() == ["A", "B", UNASSIGNED]
    assert got.loc["B", ["occasional_users", "dormant_users"]].tolist() == [1, 1]


def test_the_minimum_group_size_is_at_least_two():
    with pytest.raises(SettingsError, match="REPORTING_MIN_GROUP_SIZE"):
        Settings.load(reporting_min_group_size=1)
    assert Settings.load().reporting_min_group_size == MIN


def test_group_figures_equal_what_the_api_served_and_never_name_a_small_group(
    team_api: RunningSimulator, warehouse: Warehouse, tmp_path: Path, request: pytest.FixtureRequest
):
    resources = {"paradigm": team_api.resource(user_id_key=KEY), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], resources, FIRST, LAST).success
    engaged = materialize(build_user_assets(MEMORY_BUDGET_MB), resources={"warehouse": warehouse})
    assert engaged.success
    path = _org_file(tmp_path)
    instance = DagsterInstance.ephemeral()
    result = _org(team_api, warehouse, path, KEY, instance)
    assert result.success
    loaded = _metadata(result, "org_data")
    assert loaded["memberships"] == 41 and loaded["bad_rows"] == 0 and loaded["written"] is True
    assert loaded["dated (valid_from)"] is True
    check = result.get_asset_check_evaluations()[0]
    assert check.check_name == "no_bad_rows" and check.passed

    # no raw id stored: the memberships hold the pseudonyms user_activities holds
    stored = warehouse.read(org_memberships)
    assert not set(stored["user_id"]) & set(_departments())
    assert set(stored["user_id"]) <= set(warehouse.read(user_activities)["user_id"])
    assert stored["valid_from"].isna().sum() == 40  # since always: NULL, one row dated

    publish(warehouse.engine, True, first_day=None)
    facts = _view(warehouse, "fct_group_activity")
    facts["period_start"] = pd.to_datetime(facts["period_start"])
    served = _served()
    # by month, each group at or above the threshold: the distinct users the API served in it
    served["month"] = served["date"].dt.to_period("M").dt.start_time
    expected = served.groupby(["group", "month"])["user_id"].nunique()
    months = facts[facts["grain"] == "month"].set_index(["group_name", "period_start"])["active_users"]
    for name in ("Big", "Mid"):
        assert months.loc[name].to_dict() == expected.loc[name].to_dict(), name
    # per day: the groups shown add up to the company's active users, "(other)" never below the threshold
    days = facts[facts["grain"] == "day"]
    per_day = days.groupby("period_start")["active_users"].sum()
    assert per_day.to_dict() == served.groupby("date")["user_id"].nunique().to_dict()
    assert (facts.loc[facts["group_name"] == OTHER, "headcount"] >= MIN).all()
    assert (facts.loc[facts["group_name"] != OTHER, "headcount"] >= MIN).all()
    # the headcount follows valid_from: the mover counts in Mid from the week of the move
    weeks = facts[(facts["grain"] == "week")].set_index(["group_name", "period_start"])["headcount"]
    assert weeks[("Mid", pd.Timestamp(MOVE))] == MIN + 1 and weeks[("Big", pd.Timestamp(MOVE))] == 19
    assert weeks[("Mid", pd.Timestamp(MOVE) - pd.Timedelta(days=7))] == MIN
    dim = _view(warehouse, "dim_group").set_index("group_name")["headcount"]
    assert dim["Big"] == 19 and dim["Mid"] == MIN + 1 and dim[OTHER] >= MIN

    # each group's users per engagement segment, as of the picture's day (the mover is in Mid by then)
    segmented = warehouse.read(group_segments).set_index(["attribute", "group_name"])
    users = warehouse.read(user_engagement)
    raw = {pseudonyms.pseudonym(KEY, TEAM.id, uid): uid for uid in range(TEAM.id * 1000 + 1, TEAM.id * 1000 + 46)}
    as_of = users["as_of_date"].max()
    users["group"] = [_group_on(raw[u], as_of) for u in users["user_id"]]
    for name in ("Big", "Mid"):
        expected_segments = users[users["group"] == name]["segment"].value_counts()
        row = segmented.loc[("department", name)]
        assert {s: int(row[f"{s}_users"]) for s in expected_segments.index} == expected_segments.to_dict(), name
        assert row["headcount"] == (MIN + 1 if name == "Mid" else 19) and row["as_of_date"] == as_of
    assert segmented.loc[("department", OTHER), "headcount"] >= MIN
    # the last 30 days, each user in their group of the picture's day; the 30 before are not all loaded: unknown
    recent = _last_30_days(served, as_of)
    for name in ("Big", "Mid"):
        row = segmented.loc[("department", name)]
        assert (row["active_users_30d"], row["sessions_30d"]) == tuple(recent.loc[name]), name
    assert segmented["active_users_prior_30d"].isna().all()
    assert (
        segmented["active_users_30d"].sum()
        == served.loc[served["date"] > pd.Timestamp(as_of) - pd.Timedelta(days=30), "user_id"].nunique()
    )

    # the small groups' names are nowhere: tables, views, run metadata, logs
    for frame in (warehouse.read(group_activity), warehouse.read(group_segments), facts, dim.reset_index()):
        assert not frame["group_name"].isin(SMALL).any()
    said = " ".join(str(e) for e in result.all_events)
    assert not any(name in said for name in SMALL)
    if warehouse.engine.dialect.name == "sqlite":  # the page and the alerts are the same on either database
        _groups_in_french(warehouse, recent, tmp_path, request.getfixturevalue("chromium"))
        _alerts_by_group(warehouse, instance, tmp_path, request.getfixturevalue("receiver"))


def _last_30_days(served: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per group of `as_of`: the distinct users the API served in the 30 days ending then, and their sessions."""
    window = served[served["date"] > pd.Timestamp(as_of) - pd.Timedelta(days=30)]
    window = window.assign(group=[_group_on(u, as_of) for u in window["user_id"]])
    return window.groupby("group").agg(active=("user_id", "nunique"), sessions=("sessions", "sum"))


BY_GROUP = """
settings:
  notify_horizon_days: 60
rules:
  - name: low_department_adoption
    asset: group_activity
    by: department
    metric: adoption_rate
    condition: below
    threshold: 0.95
    for_days: 3
"""


def _alerts_by_group(warehouse: Warehouse, instance: DagsterInstance, tmp_path: Path, receiver) -> None:
    """A rule by department fires once per group at or above the threshold (never "(other)", and the small
    groups are not there to fire), naming the company and the group, and reaches a receiver once."""
    from dagster import build_sensor_context

    from reporting_assets.alerts.notify import Notifier
    from reporting_assets.alerts.rules import load_rules
    from reporting_assets.alerts.tick import AlertTick
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import ENGLISH

    receiver.start()
    rules = tmp_path / "alerts.yaml"
    rules.write_text(BY_GROUP)
    notifier = Notifier(urls=receiver.url, ui_url="http://127.0.0.1:3999")
    context = build_sensor_context(instance=instance, resources={"warehouse": warehouse, "notifier": notifier})
    tick = AlertTick(load_rules(rules, NO_KPIS), ENGLISH, now=lambda: NOW)
    report = tick(context, warehouse, notifier)
    assert report.fired == 2 and report.failed == 0  # Big and Mid: daily actives are far below 95 % of them
    assert tick(context, warehouse, notifier).sent == 0  # nothing new: never twice
    [message] = receiver.messages
    lines = [line for line in message["message"].splitlines() if line.startswith("[FIRING]")]
    assert len(lines) == 2 and all(f"{TEAM.name} ({TEAM.id}), department " in line for line in lines)
    assert {line.split("department ")[1].split(":")[0] for line in lines} == {"Big", "Mid"}
    assert OTHER not in message["message"] and not any(name in message["message"] for name in SMALL)


def _groups_in_french(warehouse: Warehouse, recent: pd.DataFrame, tmp_path: Path, chromium: str) -> None:
    """The dashboard's "Groups side by side" in French for the company: the large groups and (other), their active
    users over the last 30 days as the API served them (the change unknown: the 30 before are not all loaded),
    sorted, filtered, downloadable; no small group anywhere in the page."""
    from reporting_assets.custom_kpis.definition import NO_KPIS
    from reporting_assets.i18n import Language
    from reporting_assets.reports.dashboard import render
    from reporting_assets_tests.browser import opened, pick

    html = render(warehouse.engine, NOW, True, Language("fr"), NO_KPIS).html
    assert not any(name in html for name in SMALL)
    path = tmp_path / "usage_dashboard.html"
    path.write_text(html, encoding="utf-8")
    with opened(chromium, path) as page:
        before = page.inner_text("#groups-why")
        pick(page, f"{TEAM.name} ({TEAM.id})")
        heading = page.inner_text("#groups-section h2")
        cells = page.eval_on_selector_all("#groups tbody tr", "trs => trs.map(tr => tr.cells[0].innerText)")
        active = page.eval_on_selector_all("#groups tbody tr", "trs => trs.map(tr => tr.cells[2].innerText)")
        changed = page.eval_on_selector_all("#groups tbody tr", "trs => trs.map(tr => tr.cells[3].innerText)")
        header = page.eval_on_selector_all("#groups thead th", "ths => ths.map(th => th.innerText)")
        trends = page.eval_on_selector_all("#groups tbody tr svg", "svgs => svgs.length")
        page.locator("#groups thead th").nth(0).click()  # by group name, A to Z
        sorted_names = page.eval_on_selector_all("#groups tbody tr", "trs => trs.map(tr => tr.cells[0].innerText)")
        sorted_by = page.locator("#groups thead th").nth(0).get_attribute("aria-sort")
        page.fill("#groups-filter", "bi")
        page.dispatch_event("#groups-filter", "input")
        filtered = page.eval_on_selector_all("#groups tbody tr", "trs => trs.map(tr => tr.cells[0].innerText)")
        with page.expect_download() as download:
            page.click("button[data-csv=groups]")
        data = Path(download.value.path()).read_bytes()
    assert before == "Choisissez une entreprise pour voir ses groupes."
    assert heading.startswith("Groupes côte à côte") and set(cells) == {"Big", "Mid", OTHER} and trends == 3
    shown = dict(zip(cells, active, strict=True))
    assert shown["Big"] == str(recent.loc["Big", "active"]) and shown["Mid"] == str(recent.loc["Mid", "active"])
    assert header[2:4] == ["Utilisateurs actifs, 30 derniers jours", "par rapport aux 30 jours précédents"]
    assert set(changed) == {"–"}  # not known: never a 0 or a change from an unloaded window
    assert cells == ["Big", OTHER, "Mid"]  # by headcount: 19, (other) 9 + 1 + the 5 unassigned, 11
    assert sorted_names == [OTHER, "Big", "Mid"] and sorted_by == "ascending"  # A to Z, as the locale collates
    assert filtered == ["Big"]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert data.startswith(b"\xef\xbb\xbf") and rows[0][:3] == ["company_id", "attribute", "group"]
    assert [r[2] for r in rows[1:]] == ["Big"]  # what is shown: the company, the attribute, the filter


def test_an_unchanged_file_is_not_loaded_again_and_a_bad_row_fails_the_check(
    team_api: RunningSimulator, tmp_path: Path
):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    assert run(
        [*raw_assets, *kpi_assets], {"paradigm": team_api.resource(), "warehouse": warehouse}, FIRST, FIRST
    ).success
    path = _org_file(tmp_path)
    first = _org(team_api, warehouse, path)
    again = _org(team_api, warehouse, path)
    assert _metadata(first, "org_data")["written"] is True and _metadata(again, "org_data")["written"] is False
    versions = [r.asset_materializations_for_node("org_data")[0].tags["dagster/data_version"] for r in (first, again)]
    assert versions[0] == versions[1] == warehouse.read(org_data_file)["content_hash"].item()

    bad = _org(team_api, warehouse, _org_file(tmp_path, extra="nobody;;Big"))
    assert bad.success and _metadata(bad, "org_data")["written"] is True
    check = bad.get_asset_check_evaluations()[0]
    assert not check.passed and "line 43, user_id: not a Paradigm user id" in check.metadata["bad rows"].value
    assert warehouse.read(org_data_file)["bad_rows"].item() == 1

    path.write_text("department\nBig\n", encoding="utf-8")
    failed = _org(team_api, warehouse, path)
    assert not failed.success
    message = failed.get_step_failure_events()[0].step_failure_data.error.message
    assert "REPORTING_ORG_DATA" in message and f"{path}: no user_id column" in message
    assert len(warehouse.read(org_memberships)) == 41  # the previous file's memberships stay


def test_an_erased_user_s_memberships_go_and_stay_out_of_every_later_load(team_api: RunningSimulator, tmp_path: Path):
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    resources = {"paradigm": team_api.resource(user_id_key=KEY), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], resources, FIRST, FIRST).success
    path = _org_file(tmp_path)
    assert _org(team_api, warehouse, path, KEY).success
    gone = pseudonyms.pseudonym(KEY, TEAM.id, MOVER)
    _, deleted = privacy.forget(warehouse.engine, TEAM.id, MOVER, KEY, NOW)
    assert deleted[org_memberships.name] == 2
    for file in (path, _org_file(tmp_path, extra=f"{TEAM.id * 1000 + 45};;Big")):  # the same file, then a new one
        again = _org(team_api, warehouse, file, KEY)
        assert _metadata(again, "org_data")["erased users' rows left out"] == 2
        assert gone not in set(warehouse.read(org_memberships)["user_id"])


def test_the_demo_org_file_maps_every_demo_user_with_small_departments():
    shipped = Path(__file__).parents[1] / "reporting_assets" / "simulator" / "demo_org.csv"
    assert shipped.read_text(encoding="utf-8") == org_csv()
    parsed = parse(shipped.read_bytes(), "demo_org.csv", {c.id for c in DEFAULT_COMPANIES}, None)
    assert not parsed.bad
    sizes = parsed.memberships[parsed.memberships["attribute"] == "department"].groupby("group_name").size()
    assert sizes.sum() == sum(c.users for c in DEFAULT_COMPANIES) and (sizes < MIN).any() and (sizes >= MIN).any()


def test_the_doctor_reads_the_org_file_as_the_asset_does(tmp_path: Path):
    from reporting_assets.doctor.checks import _org_data
    from reporting_assets.i18n import Language

    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    path = _org_file(tmp_path, extra="nobody;;Big")
    settings = Settings.load(reporting_database_url=url, reporting_org_data=str(path), paradigm_company_id=TEAM.id)
    found = _org_data(settings, Language("fr"))
    assert not found.ok and found.detail == (
        "42 lignes, attributs : department ; 1 lignes invalides (leurs numéros : contrôle no_bad_rows)"
    )
    missing = _org_data(settings.model_copy(update={"reporting_org_data": str(tmp_path / "no.csv")}), Language("en"))
    assert not missing.ok and missing.detail == f"{tmp_path / 'no.csv'}: cannot be read (No such file or directory)"


def test_hostile_column_and_group_names_are_inert_in_the_run_s_metadata(team_api: RunningSimulator, tmp_path: Path):
    from reporting_assets_tests.hostile import CORPUS

    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    resources = {"paradigm": team_api.resource(), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], resources, FIRST, FIRST).success
    link, lines = CORPUS["markdown"], CORPUS["newlines"]
    buf = io.StringIO()
    rows = csv.writer(buf, lineterminator="\n")
    rows.writerow(["user_id", link, lines])
    rows.writerows([[uid, CORPUS["html"], OTHER if uid == MOVER else "x"] for uid in _departments()])
    path = tmp_path / "org.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    result = _org(team_api, warehouse, path)
    assert result.success
    shown = _metadata(result, "org_data")
    assert "\n" not in shown["attributes"] and link in shown["attributes"]  # one line, the text whole
    assert shown["bad rows"].count("\n") == 0 and "[click](" not in shown["bad rows"]
    assert shown["bad rows"].startswith("- line 2, line one line two") and "\\[FIRING\\]" in shown["bad rows"]
    assert set(warehouse.read(org_memberships)["group_name"]) == {CORPUS["html"], "x"}  # data: kept as written


def test_the_org_assets_are_in_the_code_location_only_with_an_org_file(monkeypatch: pytest.MonkeyPatch):
    """As `make run` sets it for the demo: `org_data` (its check too) after `user_activities`, `group_activity` after
    both; without REPORTING_ORG_DATA neither exists."""
    from dagster import Definitions

    from reporting_assets_tests.test_definitions import load_defs

    shipped = Path(__file__).parents[1] / "reporting_assets" / "simulator" / "demo_org.csv"
    defs = load_defs(monkeypatch, PARADIGM_BASE_URL="demo", REPORTING_ORG_DATA=str(shipped))
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey("org_data")).parent_keys == {AssetKey("user_activities")}
    parents = {AssetKey("org_data"), AssetKey("user_activities"), AssetKey("user_engagement")}
    assert graph.get(AssetKey("group_activity")).parent_keys == parents
    assert [k.name for k in graph.asset_check_keys if k.asset_key == AssetKey("org_data")] == ["no_bad_rows"]
    bare = load_defs(monkeypatch, PARADIGM_BASE_URL="demo").resolve_asset_graph()
    assert not bare.has(AssetKey("org_data")) and not bare.has(AssetKey("group_activity"))


@pytest.mark.parametrize(
    "rule, why",
    [
        ("asset: user_activity\n    metric: active_users\n    by: department", "by: <an org attribute> goes with"),
        ("asset: group_activity\n    metric: active_users", "by: <an org attribute> goes with asset group_activity"),
        ("asset: group_activity\n    metric: stickiness\n    by: site", "metric 'stickiness' is not a group figure"),
        ("asset: group_activity\n    metric: active_users\n    by: site\n    companies: total", "companies: total"),
    ],
)
def test_a_rule_by_group_is_checked_when_the_rules_load(tmp_path: Path, rule: str, why: str):
    from reporting_assets.alerts.rules import RulesError, load_rules
    from reporting_assets.custom_kpis.definition import NO_KPIS

    path = tmp_path / "alerts.yaml"
    path.write_text(f"rules:\n  - name: r\n    {rule}\n    condition: below\n    threshold: 1\n")
    with pytest.raises(RulesError, match=why.replace("(", r"\(")):
        load_rules(path, NO_KPIS)


def test_a_rule_by_group_needs_an_org_file(tmp_path: Path):
    from reporting_assets.alerts.rules import RulesError, check_org_data, load_rules
    from reporting_assets.custom_kpis.definition import NO_KPIS

    path = tmp_path / "alerts.yaml"
    path.write_text(BY_GROUP)
    rules = load_rules(path, NO_KPIS)
    assert check_org_data(rules, path, "org.csv") is rules
    with pytest.raises(RulesError, match="low_department_adoption: by group needs REPORTING_ORG_DATA"):
        check_org_data(rules, path, None)


def test_the_org_file_is_read_from_object_storage_too(s3: str, tmp_path: Path):
    import boto3

    from reporting_assets.org.defs import read_file

    boto3.client("s3").put_object(Bucket=s3, Key="hr/org.csv", Body=_org_file(tmp_path).read_bytes())
    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    parsed = read_file(f"s3://{s3}/hr/org.csv", warehouse, TEAM.id)
    assert not parsed.bad and len(parsed.memberships) == 41 and parsed.dated
    with pytest.raises(OrgFileError, match=f"^s3://{s3}/hr/none.csv: cannot be read"):
        read_file(f"s3://{s3}/hr/none.csv", warehouse, TEAM.id)


def test_the_org_assets_follow_the_first_loaded_day_as_make_run_needs():
    """`make run`: the first day of user_activities loaded requests org_data and group_activity (after it and
    user_engagement) in the same tick: groups appear from the first materialization on, with nobody clicking."""
    from dagster import AssetMaterialization, AssetSpec, Definitions, evaluate_automation_conditions

    from reporting_assets.paradigm.resource import ParadigmResource
    from reporting_assets_tests.helpers import PARTITIONS

    shipped = Path(__file__).parents[1] / "reporting_assets" / "simulator" / "demo_org.csv"
    org = [build_org_data(str(shipped), None), build_group_activity(MIN, MEMORY_BUDGET_MB)]
    users = AssetSpec("user_activities", partitions_def=PARTITIONS)
    resources = {"warehouse": Warehouse(url="sqlite://"), "paradigm": ParadigmResource(base_url="demo", api_key="x")}
    defs = Definitions(assets=[users, *build_user_assets(MEMORY_BUDGET_MB), *org], resources=resources)
    instance = DagsterInstance.ephemeral()
    now = datetime(2026, 3, 31, 8, tzinfo=UTC)

    def requested(cursor):
        found = evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor, evaluation_time=now)
        return {r.key.to_user_string() for r in found.results if r.true_subset.size}, found.cursor

    nothing, cursor = requested(None)
    assert not {"org_data", "group_activity"} & nothing  # nothing loaded: nothing to group
    instance.report_runless_asset_event(AssetMaterialization("user_activities", partition="2026-03-30"))
    first, cursor = requested(cursor)
    assert {"org_data", "user_engagement", "group_activity"} <= first  # one tick: group_activity after its parents
    for key in ("org_data", "user_engagement", "retention_cohorts", "group_activity"):
        instance.report_runless_asset_event(AssetMaterialization(key))
    then, _ = requested(cursor)
    assert not {"org_data", "group_activity"} & then  # done: not requested again until a new day is loaded
