"""Your own KPIs (REPORTING_KPIS), on SQLite and PostgreSQL: the file validated when the code location loads (one
message naming the file, the KPI and the field), and the `custom_kpis` asset equal, for every loaded day and
company, to figures computed independently from the raw tables: 0 on a loaded day without the activity, no row on
a day not loaded; a KPI removed from the file loses its rows, a changed one changes the asset's code version."""

from __future__ import annotations

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
from reporting_assets.reports.digest import compose
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    chat_feedbacks,
    chat_sessions,
    custom_kpis,
    load_log,
    tools_usage,
    used_documents,
)
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
"""
FIRST, GAP, LAST = "2025-03-03", "2025-03-06", "2025-03-09"  # the 6th is never loaded


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
    out = {
        "copies_per_response": (copies / responses.where(responses != 0)),
        "web_searches": summed(tools[tools["tool_name"] == "web_search"], "usage_count"),
        "first_document_reads": summed(first, "usage_count"),
    }
    return pd.concat(out, names=["kpi"]).rename("value").reset_index()


def test_custom_kpis_equal_the_raw_tables_figures_on_loaded_days_only_and_alert_like_any_kpi(
    simulator: RunningSimulator, warehouse: Warehouse, tmp_path: Path, receiver: Receiver
) -> None:
    resources = {"paradigm": simulator.resource(), "warehouse": warehouse}
    assert run([*raw_assets, *kpi_assets], resources, FIRST, "2025-03-05").success
    assert run([*raw_assets, *kpi_assets], resources, "2025-03-07", LAST).success
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
    assert check.ok and check.detail == f"3 in {path}: copies_per_response, web_searches, first_document_reads"
    french = _custom_kpis(settings, Language("fr"))
    assert french.line(Language("fr")).startswith(f"✓ indicateurs personnalisés: 3 dans {path} : ")


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


def test_the_shipped_example_holds_the_docs_five_kpis() -> None:
    file = load(EXAMPLE_KPIS)
    assert len(file.kpis) == 5 and {k.format for k in file.kpis} == {"percent", "number", "decimal"}
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
    for kpi in file.kpis:
        mine = sums.loc[kpi.name]
        expected = mine["numerator"] if kpi.denominator is None else mine["numerator"] / mine["denominator"]
        for measure in (lookml_sql[f"kpi_{kpi.name}"].replace("${TABLE}.", ""), superset_sql[f"kpi_{kpi.name}"]):
            query = f"SELECT company_id, {measure} AS v FROM {view} WHERE date BETWEEN :a AND :b GROUP BY company_id"
            with warehouse.engine.connect() as conn:
                got = pd.read_sql(sa.text(query), conn, params={"a": date(2025, 3, 1), "b": date(2025, 3, 31)})
            got = got.set_index("company_id")["v"].astype(float).sort_index()
            pd.testing.assert_series_equal(got, expected.astype(float).sort_index(), check_names=False, rtol=1e-9)
    dax = {line.split(" = ", 1)[0]: line for line in powerbi.measures(file).splitlines() if " = " in line}
    assert "DIVIDE(SUMX(known, 'fct_custom_kpi'[numerator])" in dax["copies_per_response"]
    assert dax["web_searches"].startswith("web_searches = CALCULATE(SUM('fct_custom_kpi'[numerator]), ")
