"""Your own KPIs (REPORTING_KPIS), on SQLite and PostgreSQL: the file validated when the code location loads (one
message naming the file, the KPI and the field), and the `custom_kpis` asset equal, for every loaded day and
company, to figures computed independently from the raw tables: 0 on a loaded day without the activity, no row on
a day not loaded; a KPI removed from the file loses its rows, a changed one changes the asset's code version."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import lkml
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from dagster import DagsterInstance, build_sensor_context

from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import RulesError, load_rules
from reporting_assets.alerts.tick import AlertTick
from reporting_assets.bi import kits, lookml, powerbi, views
from reporting_assets.bi.contract import VIEWS
from reporting_assets.bi.publish import publish
from reporting_assets.custom_kpis.definition import EXAMPLE_KPIS, NO_KPIS, KpiFile, KpiFileError, load
from reporting_assets.custom_kpis.defs import build_custom_kpis_asset
from reporting_assets.i18n import ENGLISH, Language
from reporting_assets.reports.dashboard import render
from reporting_assets.reports.digest import compose
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    chat_feedbacks,
    chat_sessions,
    company_members,
    custom_kpis,
    load_log,
    tools_usage,
    used_documents,
    user_activities,
)
from reporting_assets_tests.browser import opened
from reporting_assets_tests.conftest import RunningSimulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, PARTITIONS, kpi_assets, raw_assets, run
from reporting_assets_tests.receiver import Receiver

KPIS = """
kpis:
  - name: copies_per_response            # a ratio of two sums of fct_daily_usage
    label: {en: Answers copied, fr: Réponses copiées, de: Kopierte Antworten}
    description: Share of the model's answers that a user copied
    format: percent
    ratio:
      numerator:   {view: fct_daily_usage, sum: copies_count}
      denominator: {view: fct_daily_usage, sum: model_responses_count}
  - name: web_searches
    label: {en: Web searches}
    format: number
    sum: {view: fct_tool_usage, column: usage_count, where: {tool_name: web_search}}
  - name: first_document_reads
    label: {en: First document reads}
    format: number
    sum: {view: fct_document_usage, column: usage_count, where: {document_title: {like: "% document 1"}}}
  - name: queries_per_user               # by week or month: each person counted once
    label: {en: Queries per active user, fr: Requêtes par utilisateur actif}
    format: decimal
    ratio:
      numerator:   {view: fct_daily_usage, sum: user_queries_count}
      denominator: per_active_user
  - name: sessions_per_member            # by week or month: the members of the last loaded day
    label: {en: Sessions per member}
    format: decimal
    ratio:
      numerator:   {view: fct_daily_usage, sum: sessions_count}
      denominator: {view: fct_daily_usage, level: current_active_members}
"""
MEMBERS = 40  # each company's current members, every day
FIRST, GAP, LAST = "2025-03-03", "2025-03-06", "2025-03-09"  # the 6th is never loaded
NOW = datetime(2025, 3, 10, 8, tzinfo=UTC)


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kpis.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BAD = {
    "unknown view": ("sum: {view: fct_nothing, column: usage_count}", "KPI 'k': sum.view: unknown view 'fct_nothing'"),
    "unknown column": ("sum: {view: fct_tool_usage, column: nope}", "KPI 'k': sum.column: 'nope' is not an additive"),
    "a level is not additive": (
        "sum: {view: fct_daily_usage, column: active_users_30d}",
        "KPI 'k': sum.column: 'active_users_30d' is not an additive column of fct_daily_usage",
    ),
    "unknown filter": (
        "sum: {view: fct_tool_usage, column: usage_count, where: {colour: red}}",
        "KPI 'k': sum.where.colour: not a key or attribute column of fct_tool_usage (tool_name)",
    ),
    "bad operator": (
        "sum: {view: fct_tool_usage, column: usage_count, where: {tool_name: {regex: x}}}",
        "KPI 'k': sum.where.tool_name: expected a value, {in: [values]} or {like: pattern}",
    ),
    "unknown format": ("sum: {view: fct_tool_usage, column: usage_count}\n    format: money", "KPI 'k': format:"),
    "not a level": (
        "ratio: {numerator: {view: fct_daily_usage, sum: sessions_count}, "
        "denominator: {view: fct_daily_usage, level: sessions_count}}",
        "KPI 'k': ratio.denominator.level: 'sessions_count' is not a level of fct_daily_usage (active_users_7d, "
        "active_users_30d, current_active_members, total_historical_members)",
    ),
    "a filtered level": (
        "ratio: {numerator: {view: fct_daily_usage, sum: sessions_count}, "
        "denominator: {view: fct_daily_usage, level: current_active_members, where: {x: 1}}}",
        "KPI 'k': ratio.denominator: a level takes no filter",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_each_mistake_stops_the_load_naming_the_file_the_kpi_and_the_field(tmp_path: Path, case: str) -> None:
    body, message = BAD[case]
    fmt = "" if "format:" in body else "\n    format: number"
    path = _file(tmp_path, f"kpis:\n  - name: k\n    label: {{en: K}}{fmt}\n    {body}\n")
    with pytest.raises(KpiFileError) as raised:
        load(path)
    assert str(raised.value).startswith(f"{path}: {message[: message.index(':')]}") and message in str(raised.value)


def test_a_duplicate_name_or_a_missing_english_label_stops_it_too(tmp_path: Path) -> None:
    one = "  - name: k\n    label: {en: K}\n    format: number\n    sum: {view: fct_tool_usage, column: usage_count}\n"
    with pytest.raises(KpiFileError, match="KPI 'k': name: used by another KPI of the file"):
        load(_file(tmp_path, "kpis:\n" + one + one))
    french = one.replace("{en: K}", "{fr: K}")
    with pytest.raises(KpiFileError, match=r"KPI 'k': label: an English label is required"):
        load(_file(tmp_path, "kpis:\n" + french))
    with pytest.raises(KpiFileError, match="not valid YAML"):
        load(_file(tmp_path, "kpis: [\n"))


def test_the_code_location_does_not_load_with_a_kpi_naming_an_unknown_column(tmp_path: Path) -> None:
    path = _file(tmp_path, KPIS.replace("sum: copies_count", "sum: copied_count"))
    with pytest.raises(SettingsError) as raised:
        Settings.load(reporting_kpis=path)
    message = str(raised.value)
    assert "REPORTING_KPIS" in message and "KPI 'copies_per_response'" in message and "'copied_count'" in message


def _expected(warehouse: Warehouse, days: list) -> pd.DataFrame:
    """The three KPIs from the raw tables, on the loaded days, per company of chat_sessions."""
    sessions = warehouse.read(chat_sessions)
    feedbacks = warehouse.read(chat_feedbacks)
    tools = warehouse.read(tools_usage)
    documents = warehouse.read(used_documents)
    grid = pd.MultiIndex.from_product([days, sorted(sessions["company_id"].unique())], names=["date", "company_id"])

    def summed(frame: pd.DataFrame, column: str) -> pd.Series:
        return frame.groupby(["date", "company_id"])[column].sum().reindex(grid, fill_value=0).astype(float)

    copies, responses = summed(feedbacks, "copies_count"), summed(sessions, "model_responses_count")
    first = documents[documents["document_title"].str.endswith(" document 1")]
    people = _people(warehouse).reindex(grid, fill_value=0).astype(float)
    out = {
        "copies_per_response": (copies / responses.where(responses != 0)),
        "web_searches": summed(tools[tools["tool_name"] == "web_search"], "usage_count"),
        "first_document_reads": summed(first, "usage_count"),
        "queries_per_user": summed(sessions, "user_queries_count") / people.where(people != 0),
        "sessions_per_member": summed(sessions, "sessions_count") / MEMBERS,
    }
    return pd.concat(out, names=["kpi"]).rename("value").reset_index()


def _people(warehouse: Warehouse, by: str = "date") -> pd.Series:
    """Distinct active users per `by` (date, or week: its Monday) and company, from the raw user activities."""
    rows = warehouse.read(user_activities)
    rows["week"] = pd.to_datetime(rows["date"]).dt.to_period("W-SUN").dt.start_time
    return rows.groupby([by, "company_id"])["user_id"].nunique()


def _members(warehouse: Warehouse, first: str, last: str) -> None:
    """`MEMBERS` current members of each company of the simulator, every day (the API snapshots only today's)."""
    days = pd.date_range(first, last).date
    ids = sorted(warehouse.read(chat_sessions)["company_id"].unique())
    rows = pd.DataFrame([{"date": d, "company_id": int(c), "company_name": f"c{c}", "current_active_members": MEMBERS,
                          "total_historical_members": MEMBERS} for d in days for c in ids])  # fmt: skip
    rows["ingested_at"] = pd.Timestamp("2025-03-10", tz="UTC")
    entries = ledger.entries(company_members.name, ledger.day_counts(rows, days[0], days[-1], None), "t")
    warehouse.replace(company_members, days[0], days[-1], rows, loaded=entries)


def test_custom_kpis_equal_the_raw_tables_figures_on_loaded_days_only_and_alert_like_any_kpi(
    simulator: RunningSimulator, warehouse: Warehouse, tmp_path: Path, receiver: Receiver, chromium: str
) -> None:
    resources = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], resources, FIRST, "2025-03-05").success
    assert run([*raw_assets, *kpi_assets], resources, "2025-03-07", LAST).success
    _members(warehouse, FIRST, LAST)
    file = load(_file(tmp_path, KPIS))
    asset = build_custom_kpis_asset(file, PARTITIONS, MEMORY_BUDGET_MB)
    instance = DagsterInstance.ephemeral()
    assert run([asset], {"warehouse": warehouse}, FIRST, LAST, instance).success

    got = warehouse.read(custom_kpis)
    days = sorted(set(got["date"]))
    assert pd.Timestamp(GAP).date() not in days and len(days) == 6  # the day never loaded has no row
    expected = _expected(warehouse, days)
    both = expected.merge(got, on=["date", "company_id", "kpi"], how="outer", validate="one_to_one", indicator=True)
    assert set(both["_merge"]) == {"both"}  # a row for every loaded day, company and KPI, and no other
    pd.testing.assert_series_equal(both["value_x"], both["value_y"], check_names=False, rtol=1e-9)
    web = got[got["kpi"] == "web_searches"]
    assert (web["value"] == 0).any() and (web["value"] > 0).any()  # loaded days without the tool are 0
    assert got.loc[got["kpi"] == "web_searches", "denominator"].isna().all()
    ledger = warehouse.read(load_log, where=load_log.c.asset == custom_kpis.name)
    assert sorted(ledger["date"]) == days

    # every kit's measure of each KPI, run by the database over the month, equals the table's parts summed
    _kits_equal_the_table(warehouse, file, tmp_path)

    # the weekly digest lists each KPI, all companies together, in the reader's language, against the week before
    french = compose(warehouse.engine, "2025-W10", None, Language("fr"), file).body
    week = got[pd.to_datetime(got["date"]).dt.isocalendar().week.to_numpy() == 10]
    sums = week.groupby("kpi")[["numerator", "denominator"]].sum()
    share = sums.loc["copies_per_response", "numerator"] / sums.loc["copies_per_response", "denominator"]
    assert "Vos indicateurs, toutes entreprises :" in french
    assert f"- Réponses copiées : {Language('fr').percent(share)}" in french
    searches = Language("fr").number(sums.loc["web_searches", "numerator"])
    assert f"- Web searches : {searches}" in french  # no French label: the English one
    weekly = _people(warehouse, "week").loc[pd.Timestamp("2025-03-03")].sum()  # each person once in the week
    per_user = Language("fr").number(sums.loc["queries_per_user", "numerator"] / weekly, 2)
    assert f"- Requêtes par utilisateur actif : {per_user}" in french
    last_members = MEMBERS * got["company_id"].nunique()  # the level of the week's last loaded day, not summed
    per_member = Language("fr").number(sums.loc["sessions_per_member", "numerator"] / last_members, 2)
    assert f"- Sessions per member : {per_member}" in french

    # the dashboard's section, in French
    _dashboard_in_french(warehouse, file, got, tmp_path, chromium)

    # an alert rule on a custom KPI fires per company and reaches a receiver, as any KPI's
    _alert_reaches_a_receiver(warehouse, instance, file, tmp_path, receiver)

    # one KPI fewer in the file: its rows go at the next run, the asset's code version changes
    fewer = load(_file(tmp_path, KPIS.split("  - name: web_searches")[0]))
    smaller = build_custom_kpis_asset(fewer, PARTITIONS, MEMORY_BUDGET_MB)
    assert smaller.code_versions_by_key != asset.code_versions_by_key
    assert run([smaller], {"warehouse": warehouse}, LAST).success
    assert set(warehouse.read(custom_kpis)["kpi"]) == {"copies_per_response"}


def test_the_doctor_lists_the_kpis_in_the_reader_s_language(tmp_path: Path) -> None:
    from reporting_assets.doctor.checks import _custom_kpis
    from reporting_assets.i18n import Language

    path = _file(tmp_path, KPIS)
    settings = Settings.load(reporting_kpis=path)
    check = _custom_kpis(settings, Language("en"))
    names = "copies_per_response, web_searches, first_document_reads, queries_per_user, sessions_per_member"
    assert check.ok and check.detail == f"5 in {path}: {names}"
    french = _custom_kpis(settings, Language("fr"))
    assert french.line(Language("fr")).startswith(f"✓ indicateurs personnalisés: 5 dans {path} : ")


RULES = """
settings:
  notify_horizon_days: 30
rules:
  - name: searching
    asset: custom_kpis
    metric: web_searches
    condition: above
    threshold: -1
  - name: copying
    asset: custom_kpis
    metric: copies_per_response
    condition: below
    threshold: 2
    companies: total
"""


def _alert_reaches_a_receiver(
    warehouse: Warehouse, instance: DagsterInstance, file: KpiFile, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.start()
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    notifier = Notifier(urls=receiver.url, ui_url="http://127.0.0.1:3999")
    context = build_sensor_context(instance=instance, resources={"warehouse": warehouse, "notifier": notifier})
    now = datetime(2025, 3, 10, 8, tzinfo=UTC)
    report = AlertTick(load_rules(rules, file), ENGLISH, now=lambda: now)(context, warehouse, notifier)
    companies = warehouse.read(custom_kpis)["company_id"].nunique()
    assert report.fired == companies + 1 and report.failed == 0  # each company searching, and the total copying
    [message] = receiver.messages
    lines = message["message"].splitlines()
    assert sum(line.startswith("[FIRING] searching") for line in lines) == companies
    assert any(line.startswith("[FIRING] copying") and "web_searches" not in line for line in lines)


def test_a_rule_on_a_custom_kpi_is_checked_against_the_kpi_file(tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES.replace("metric: web_searches", "metric: web_serches"))
    file = load(_file(tmp_path, KPIS))
    with pytest.raises(RulesError, match=r"metric 'web_serches' is not a KPI of .*kpis.yaml; use one of copies_per"):
        load_rules(rules, file)
    with pytest.raises(RulesError, match="asset custom_kpis needs REPORTING_KPIS"):
        load_rules(rules, NO_KPIS)
    rules.write_text(RULES)
    [searching, copying] = load_rules(rules, file).rules
    assert searching.counts and not copying.counts and copying.total_ratio is not None


def test_the_shipped_example_holds_the_docs_seven_kpis() -> None:
    file = load(EXAMPLE_KPIS)
    assert len(file.kpis) == 7 and {k.format for k in file.kpis} == {"percent", "number", "decimal"}
    assert {k.denominator.kind for k in file.kpis if k.denominator} == {"sum", "distinct", "level"}
    page = (Path(__file__).parents[1] / "docs" / "your-kpis.md").read_text()
    for kpi in file.kpis:  # every example is explained in the docs
        assert f"`{kpi.name}`" in page, kpi.name


def _kits_equal_the_table(warehouse: Warehouse, file: KpiFile, tmp_path: Path) -> None:
    """LookML's measures and Superset's metrics of each KPI, run on the contract's view by company over March,
    equal the parts summed from `custom_kpis` (a ratio: summed, then divided); Power BI's aggregate the same way."""
    publish(warehouse.engine, True, None)
    with warehouse.engine.connect() as conn:
        schema = views.schema_of(conn)
        view = views.qualified(conn, VIEWS["fct_custom_kpi"], schema)
    looker = lkml.load(lookml.files(schema or "main", None, file)["views/fct_custom_kpi.view.lkml"])
    lookml_sql = {m["name"]: m["sql"] for m in looker["views"][0]["measures"] if m["name"].startswith("kpi_")}
    bundle = tmp_path / "superset.zip"
    kits.write("superset", bundle, schema, warehouse.url, True, None, "reader", file)
    with zipfile.ZipFile(bundle) as archive:
        [name] = [n for n in archive.namelist() if n.endswith("datasets/paradigm_reporting/fct_custom_kpi.yaml")]
        dataset = yaml.safe_load(archive.read(name))
    superset_sql = {
        m["metric_name"]: m["expression"] for m in dataset["metrics"] if m["metric_name"].startswith("kpi_")
    }
    assert set(lookml_sql) == set(superset_sql) == {f"kpi_{k.name}" for k in file.kpis}

    rows = warehouse.read(custom_kpis)
    sums = rows.groupby(["kpi", "company_id"])[["numerator", "denominator"]].sum(min_count=1)
    one_day = rows[rows["date"] == date(2025, 3, 4)].set_index(["kpi", "company_id"])["value"]
    for kpi in file.kpis:
        mine = sums.loc[kpi.name]
        expected = mine["numerator"] if kpi.denominator is None else mine["numerator"] / mine["denominator"]
        if not kpi.additive:  # people or a level: never summed over days, so NULL over the month
            expected = expected * float("nan")
        for measure in (lookml_sql[f"kpi_{kpi.name}"].replace("${TABLE}.", ""), superset_sql[f"kpi_{kpi.name}"]):
            query = f"SELECT company_id, {measure} AS v FROM {view} WHERE date BETWEEN :a AND :b GROUP BY company_id"
            month, day = (date(2025, 3, 1), date(2025, 3, 31)), (date(2025, 3, 4), date(2025, 3, 4))
            for (a, b), want in ((month, expected), (day, one_day.loc[kpi.name])):
                with warehouse.engine.connect() as conn:
                    got = pd.read_sql(sa.text(query), conn, params={"a": a, "b": b})
                got = got.set_index("company_id")["v"].astype(float).sort_index()
                pd.testing.assert_series_equal(got, want.astype(float).sort_index(), check_names=False, rtol=1e-9)
    dax = {line.split(" = ", 1)[0]: line for line in powerbi.measures(file).splitlines() if " = " in line}
    assert "DIVIDE(SUMX(known, 'fct_custom_kpi'[numerator])" in dax["copies_per_response"]
    assert dax["web_searches"].startswith("web_searches = CALCULATE(SUM('fct_custom_kpi'[numerator]), ")
    assert "RETURN IF(HASONEVALUE('fct_custom_kpi'[date]), DIVIDE(" in dax["queries_per_user"]
    assert "HASONEVALUE" not in dax["copies_per_response"]


def _dashboard_in_french(warehouse: Warehouse, file: KpiFile, got: pd.DataFrame, tmp_path: Path, chromium: str) -> None:
    """The dashboard's "Your KPIs" section in French, opened in chromium: a card per KPI saying why its 30 days
    are not known yet, and each KPI's weekly trend as drawn equal to its parts recomputed over the week (a sum paced
    to 7 days from its 6 loaded, people counted once in the week), the companies side by side downloadable."""
    page_file = tmp_path / "usage_dashboard.html"
    page_file.write_text(render(warehouse.engine, NOW, True, Language("fr"), file).html, encoding="utf-8")
    week = got.groupby("kpi")[["numerator", "denominator"]].sum()
    days = got["date"].nunique()
    people = _people(warehouse, "week").loc[pd.Timestamp("2025-03-03")].sum()
    expected = {
        "copies_per_response": week.loc["copies_per_response", "numerator"]
        / week.loc["copies_per_response", "denominator"],
        "web_searches": week.loc["web_searches", "numerator"] * 7 / days,
        "queries_per_user": week.loc["queries_per_user", "numerator"] / people,
        "sessions_per_member": week.loc["sessions_per_member", "numerator"] / (MEMBERS * got["company_id"].nunique()),
    }
    with opened(chromium, page_file) as page:
        heading = page.inner_text("#kpis-section h2")
        cards = page.eval_on_selector_all("#kpi-cards .card", "cs => cs.map(c => c.innerText)")
        page.select_option("#range", "all")
        page.select_option("#grain", "week")
        page.wait_for_selector("body[data-view='all/week']")
        drawn = page.evaluate("() => kpiViews.map(v => v.data('points').map(r => [r.t, r.value, r.partial]))")
        charts = page.eval_on_selector_all("#kpi-charts svg .mark-line path", "ps => ps.length")
        table = page.eval_on_selector_all("#table-kpis tbody tr", "trs => trs.length")
        data, rows = _download(page, "kpis")
    assert heading.startswith("Vos indicateurs") and len(cards) == len(file.kpis)
    assert cards[0].startswith("Réponses copiées, 30 derniers jours") and "6 des 30 derniers jours calculés" in cards[0]
    names = [k.name for k in file.kpis]
    for name, value in expected.items():
        [[_, shown, partial]] = drawn[names.index(name)]  # the one week, 6 of its 7 days loaded
        assert partial and shown == pytest.approx(value, rel=1e-3), name
    assert charts >= len(file.kpis) and table == got["company_id"].nunique() + 1  # every company and all of them
    assert rows[0][:3] == ["company_id", "company", "copies_per_response"] and data.startswith(b"\xef\xbb\xbf")
    assert ";" in data.decode("utf-8-sig").splitlines()[0]  # the French list separator


def _download(page, name: str) -> tuple[bytes, list[list[str]]]:
    with page.expect_download() as download:
        page.click(f"button[data-csv={name}]")
    data = Path(download.value.path()).read_bytes()
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
