"""Every way out, fed the hostile corpus (`hostile.py`) through the simulator as company names, tool names, document
titles and file names: the warehouse keeps the text, and the dashboard, its CSVs, the digest, each alert channel's
format, Dagster's metadata, the logs and the doctor neutralise it. Nothing runs, nothing breaks the layout, and
the text round-trips where it is data. Secrets in settings are never shown (the hostile-values table)."""

from __future__ import annotations

import csv
import email
import io
import json
import re
import socket
import types
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, build_sensor_context, materialize

from reporting_assets.alerts.notify import Notifier
from reporting_assets.alerts.rules import load_rules
from reporting_assets.alerts.tick import AlertTick
from reporting_assets.assets.users import build_user_assets
from reporting_assets.custom_kpis.definition import EXAMPLE_KPIS, NO_KPIS, load
from reporting_assets.custom_kpis.defs import build_custom_kpis_asset
from reporting_assets.doctor.cli import main as doctor_main
from reporting_assets.i18n import ENGLISH, Language
from reporting_assets.neutralise import plain
from reporting_assets.org.defs import build_group_activity, build_org_data
from reporting_assets.paradigm.resource import ParadigmResource
from reporting_assets.reports.dashboard import render
from reporting_assets.reports.digest import compose
from reporting_assets.settings import Settings, SettingsError
from reporting_assets.simulator.app import Simulator, serve
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import chat_sessions, resource_usage, tools_usage, used_documents
from reporting_assets_tests.browser import opened, pick, placeholders
from reporting_assets_tests.conftest import TOKEN, RunningSimulator
from reporting_assets_tests.helpers import MEMORY_BUDGET_MB, PARTITIONS, kpi_assets, raw_assets, run
from reporting_assets_tests.hostile import CORPUS, FIRST_ID, SECRET, STORED, companies
from reporting_assets_tests.hostile import org_file as hostile_org_file
from reporting_assets_tests.page_walk import OUR_TEXT
from reporting_assets_tests.receiver import Receiver

pytestmark = pytest.mark.xdist_group("hostile")  # one loaded warehouse for the module
FIRST, LAST = "2026-03-01", "2026-03-14"
NOW = datetime(2026, 3, 15, 8, tzinfo=UTC)  # nothing here depends on the day it runs
KPIS = load(EXAMPLE_KPIS)
FORMULA = re.compile(r"^\s*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r]")  # what a spreadsheet could read as one
# controls (but \t, \n), NEL, the Unicode line and paragraph separators, and bidi overrides
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029\u202a-\u202e\u2066-\u2069]")
RULES = """
settings:
  notify_horizon_days: 30
rules:
  - name: any_sessions
    asset: adoption_satisfaction
    metric: sessions_count
    condition: above
    threshold: -1
    severity: critical
    companies: all
"""


@dataclass
class Loaded:
    warehouse: Warehouse
    instance: DagsterInstance
    run_id: str
    dashboard: Path
    simulator: RunningSimulator


def _serve(sim: Simulator) -> tuple[RunningSimulator, object]:
    server = serve(sim)
    host, port = server.server_address[:2]
    return RunningSimulator(sim, f"http://{host}:{port}"), server


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Iterator[Loaded]:
    """Two weeks of every activity asset and KPI for the hostile companies, the per-user assets, the dashboard."""
    base = tmp_path_factory.mktemp("hostile")
    sim, server = _serve(Simulator(seed=7, token=TOKEN, companies=companies()))
    try:
        warehouse = Warehouse(url=f"sqlite:///{base / 'reporting.db'}")
        instance = DagsterInstance.ephemeral()
        resources = {"paradigm": sim.resource(), "warehouse": warehouse}
        result = run([*raw_assets, *kpi_assets], resources, FIRST, LAST, instance)
        assert result.success
        per_user = build_user_assets(MEMORY_BUDGET_MB)
        assert materialize(per_user, resources={"warehouse": warehouse}, instance=instance).success
        custom = build_custom_kpis_asset(KPIS, PARTITIONS, MEMORY_BUDGET_MB)  # the KPI section's table names them
        assert run([custom], {"warehouse": warehouse}, FIRST, LAST, instance).success
        org = base / "org.csv"  # each company's users in a department named by its text: the groups section too
        org.write_text(hostile_org_file(), encoding="utf-8")
        groups = [build_org_data(str(org), None), build_group_activity(10, MEMORY_BUDGET_MB)]
        assert materialize(groups, resources=resources, instance=instance).success
        dashboard = base / "usage_dashboard.html"
        dashboard.write_text(
            render(warehouse.engine, NOW, user_lists=True, lang=ENGLISH, kpis=KPIS).html, encoding="utf-8"
        )
        yield Loaded(warehouse, instance, result.run_id, dashboard, sim)
    finally:
        server.shutdown()
        server.server_close()


def _stored(warehouse: Warehouse) -> dict[str, set[str]]:
    """The distinct API texts each table kept."""
    queries = {
        "company_name": sa.select(chat_sessions.c.company_name),
        "tool_name": sa.select(tools_usage.c.tool_name),
        "document_title": sa.select(used_documents.c.document_title),
        "document_filename": sa.select(used_documents.c.document_filename),
        "resource_name": sa.select(resource_usage.c.resource_name),
    }
    with warehouse.engine.connect() as conn:
        return {name: set(conn.execute(query.distinct()).scalars()) for name, query in queries.items()}


def _expect_round_trip(stored: dict[str, set[str]]) -> None:
    hostile = set(STORED.values())
    assert stored["company_name"] == hostile
    for name in ("tool_name", "document_title", "document_filename", "resource_name"):
        assert hostile <= stored[name], name


def test_the_warehouse_keeps_hostile_text_as_sent(loaded: Loaded) -> None:
    _expect_round_trip(_stored(loaded.warehouse))


def test_postgresql_keeps_it_too_a_nul_included(postgres_url: str) -> None:
    sim, server = _serve(Simulator(seed=7, token=TOKEN, companies=companies()))
    try:
        warehouse = Warehouse(url=postgres_url)
        wanted = {"chat_sessions", "tools_usage", "used_documents", "resource_usage"}
        assets = [a for a in [*raw_assets, *kpi_assets] if a.key.path[-1] in wanted]
        assert run(assets, {"paradigm": sim.resource(), "warehouse": warehouse}, FIRST, "2026-03-07").success
    finally:
        server.shutdown()
        server.server_close()
    _expect_round_trip(_stored(warehouse))


def _company(key: str) -> tuple[int, str]:
    """The id and picker label of the company named by corpus entry `key`."""
    company_id = FIRST_ID + list(CORPUS).index(key)
    return company_id, f"{plain(STORED[key]).strip()} ({company_id})"


def test_the_dashboard_shows_every_hostile_name_as_text_and_keeps_its_layout(loaded: Loaded, chromium: str) -> None:
    with opened(chromium, loaded.dashboard) as page:
        width = page.evaluate("() => window.innerWidth")
        seen, tops = [], {}
        for key in CORPUS:
            _, label = _company(key)
            pick(page, label)  # every company can be picked, a name with line breaks too
            heading = page.inner_text("#headline-company")
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            seen.append((key, heading.split() == plain(STORED[key]).split(), wide <= width))  # as rendered
            assert not placeholders(page)
            tops[key] = page.inner_text("#table-top")
        injected = page.evaluate("() => [window.pwned, document.querySelectorAll('img').length]")
    assert all(same and fits for _, same, fits in seen), seen
    assert injected == [None, 0]
    for key in ("html", "markdown", "formula", "pipes", "unicode"):  # its tools and documents, shown as text
        assert CORPUS[key] in tops[key], key


def _downloads(page, name: str) -> tuple[bytes, list[list[str]]]:
    with page.expect_download() as download:
        page.click(f"button[data-csv={name}]")
    data = Path(download.value.path()).read_bytes()
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_every_csv_defuses_formulas_keeps_the_text_and_opens_in_excel(loaded: Loaded, chromium: str) -> None:
    with opened(chromium, loaded.dashboard) as page:
        names = page.eval_on_selector_all("button[data-csv]", "bs => bs.map(b => b.dataset.csv)")
        files = {name: _downloads(page, name) for name in names if name != "groups"}
        groups = {}
        for label in page.eval_on_selector_all("#company-list option", "os => os.map(o => o.value)")[1:]:
            pick(page, label)  # a company's groups: one, named by its own text
            groups[label] = _downloads(page, "groups")
        undated = page.inner_text("#groups-note")  # this org file has no valid_from: the page says what follows
    assert {"daily", "weekly", "top", "alerts", "top_users", "dormant_users"} <= set(files)
    assert undated.startswith("The org file has no valid_from: each person's current group applies to all of history")
    loaded_days = (date.fromisoformat(LAST) - date.fromisoformat(FIRST)).days + 1  # and that 30 days are not loaded
    to = ENGLISH.date(date.fromisoformat(LAST))
    assert undated.endswith(f"The 30-day figures are not known: {loaded_days} of the 30 days to {to} are loaded.")
    files.update(groups)
    cells = [cell for _, rows in files.values() for row in rows for cell in row]
    assert all(data.startswith(b"\xef\xbb\xbf") for data, _ in files.values())  # the BOM: Excel reads UTF-8
    assert [c for c in cells if FORMULA.match(c) and not _number(c)] == []  # no formula, negatives aside
    companies_ = {row[1] for row in files["daily"][1][1:]}
    kpi_rows = {row[1] for row in files["kpis"][1][1:]}  # your KPIs, companies side by side
    resources = {row[3] for row in files["top"][1][1:]}
    departments = {row[2] for _, rows in groups.values() for row in rows[1:]}
    for key, text in STORED.items():  # whole, with an apostrophe before a formula's first character
        shown = "'" + text if FORMULA.match(text) else text
        assert shown in companies_ and shown in kpi_rows and shown in resources, key
        trimmed = text.strip()  # the org file's cells are read without their surrounding blanks
        assert ("'" + trimmed if FORMULA.match(trimmed) else trimmed) in departments, key


def test_a_french_readers_csvs_split_on_semicolons_with_decimal_commas(loaded: Loaded, chromium: str, tmp_path) -> None:
    """REPORTING_LANGUAGE=fr: Excel in French splits on ";" and reads "0,75" as a number; the hostile text, which
    holds commas and semicolons, stays whole in its cell."""
    page_path = tmp_path / "usage_dashboard.html"
    page_path.write_text(
        render(loaded.warehouse.engine, NOW, lang=Language("fr"), user_lists=True, kpis=KPIS).html, encoding="utf-8"
    )
    with opened(chromium, page_path) as page:
        files = {name: _downloads(page, name) for name in ("daily", "top")}
    for name, (data, _) in files.items():
        assert data.startswith(b"\xef\xbb\xbf"), name
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
        assert len({len(row) for row in rows}) == 1 and len(rows[0]) > 3, name  # one column per field, every row
        files[name] = (data, rows)
    header, *rows = files["daily"][1]
    rate = [row[header.index("satisfaction_rate")] for row in rows if row[header.index("satisfaction_rate")]]
    assert rate and all("," in r or r in ("0", "1") for r in rate) and not any("." in r for r in rate)
    companies_, resources = {row[1] for row in rows}, {row[3] for row in files["top"][1][1:]}
    for key, text in STORED.items():
        shown = "'" + text if FORMULA.match(text) else text
        assert shown in companies_ and shown in resources, key


ENGLISH_MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}


def test_the_french_page_speaks_french_with_french_numbers_and_dates(loaded: Loaded, chromium: str, tmp_path) -> None:
    """REPORTING_LANGUAGE=fr: none of our English messages is left in what the page writes (headings, labels,
    notes, table heads, charts, placeholders; API text aside), and numbers, percentages and dates are French."""
    from reporting_assets_tests.messages import english_left

    page_path = tmp_path / "usage_dashboard.html"
    page_path.write_text(
        render(loaded.warehouse.engine, NOW, lang=Language("fr"), user_lists=True, kpis=NO_KPIS).html, encoding="utf-8"
    )
    with opened(chromium, page_path) as page:
        ours = page.eval_on_selector_all(
            OUR_TEXT, "es => es.map(e => e.getAttribute('placeholder') || e.textContent).join('\\n')"
        )
        pick(page, loaded_company(page))  # a company's own figures and users, then back to every company
        ours += page.eval_on_selector_all(OUR_TEXT, "es => es.map(e => e.textContent).join('\\n')")
        shown = page.evaluate("() => [format(1855, 'count'), format(0.858, 'rate'), format(0.25, 'change')]")
        day, lang = page.inner_text("#data-through"), page.evaluate("() => document.documentElement.lang")
    assert lang == "fr" and not english_left(ours, "fr"), english_left(ours, "fr")
    assert "Toutes les entreprises" in ours and "Tendances" in ours and "Utilisateurs actifs (30 jours)" in ours
    assert not ENGLISH_MONTHS & set(re.findall(r"[A-Za-zéû]+", ours))  # the charts' ticks: "02 mars", never "Mar 02"
    assert shown == ["1\u202f855", "85,8\u00a0%", "+25\u00a0%"] or shown == ["1\u202f855", "85,8\u202f%", "+25\u202f%"]
    assert re.fullmatch(r"\d{1,2} [a-zéû]+\.? \d{4}", day), day  # "14 mars 2026"


def loaded_company(page) -> str:
    return page.eval_on_selector_all("#company-list option", "os => os.map(o => o.value)")[1]


def _markdown_rows(text: str) -> list[list[str]]:
    """A markdown table's rows split on its unescaped pipes."""
    return [re.split(r"(?<!\\)\|", line) for line in text.splitlines()]


def _assert_inert_markdown(text: str) -> None:
    rows = _markdown_rows(text)
    assert len({len(row) for row in rows}) == 1, text  # no cell added a column, no line break added a row
    assert not re.search(r"(?<!\\)[\[<`]", text), text  # no link, image, tag or code span can start


def test_dagster_metadata_escapes_api_text_and_holds_no_user_id(loaded: Loaded) -> None:
    previews = {}
    for asset in ("chat_sessions", "tools_usage", "used_documents", "user_activities", "resource_usage"):
        [event] = [
            e
            for e in loaded.instance.all_logs(loaded.run_id)
            if e.dagster_event
            and e.dagster_event.is_step_materialization
            and e.dagster_event.asset_key == AssetKey(asset)
            and "preview" in e.dagster_event.materialization.metadata
        ]
        previews[asset] = event.dagster_event.materialization.metadata["preview"].value
    for asset, text in previews.items():
        _assert_inert_markdown(text)
        assert "user_id" not in text.splitlines()[0], asset
    assert "\\</script\\>\\<img src=x" in previews["chat_sessions"]  # company 901's name, in the first rows


def test_logs_carry_no_control_or_bidirectional_character(loaded: Loaded) -> None:
    messages = [entry.user_message for entry in loaded.instance.all_logs(loaded.run_id)]
    assert messages and [m for m in messages if UNSAFE.search(m)] == []


class _Smtp:
    """An SMTP receiver on 127.0.0.1 (aiosmtpd): what a mailto:// channel really delivers."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.Message] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def url(self, fmt: str) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=reports@example.org&to=admin@example.org&format={fmt}"

    def parts(self, kind: str) -> list[str]:
        return [
            p.get_payload(decode=True).decode() for m in self.messages for p in m.walk() if p.get_content_type() == kind
        ]


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What apprise's Slack and Teams (workflows) plugins post: their hosts cannot be reached from here, so their
    requests are kept (url, body) and answered 200; the rendering is apprise's own."""
    import apprise.plugins.slack as slack
    import apprise.plugins.workflows as workflows

    posted: list[tuple[str, str]] = []

    def keep(*args, **kwargs):
        posted.append((kwargs.get("url") or args[-1], kwargs.get("data") or ""))
        return types.SimpleNamespace(status_code=200, content=b"ok", text="ok", json=lambda: {"ok": True})

    for module in (slack, workflows):
        fake = types.SimpleNamespace(**{n: getattr(requests, n) for n in dir(requests) if not n.startswith("__")})
        fake.request = fake.post = keep
        monkeypatch.setattr(module, "requests", fake)
    return posted


def test_alerts_reach_each_channel_format_with_the_text_inert(
    loaded: Loaded, tmp_path: Path, receiver: Receiver, outbound: list[tuple[str, str]]
) -> None:
    receiver.start()
    smtp = _Smtp()
    smtp.controller.start()
    try:
        rules = tmp_path / "alerts.yaml"
        rules.write_text(RULES)
        urls = [
            receiver.url,
            smtp.url("text"),
            smtp.url("html"),
            "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",
            "workflows://127.0.0.1:8443/abc123/sig456",
        ]
        notifier = Notifier(urls=",".join(urls), ui_url="http://127.0.0.1:3999")
        resources = {"warehouse": loaded.warehouse, "notifier": notifier}
        context = build_sensor_context(instance=loaded.instance, resources=resources)
        report = AlertTick(load_rules(rules, NO_KPIS), ENGLISH, now=lambda: NOW)(context, loaded.warehouse, notifier)
    finally:
        smtp.controller.stop()
    assert report.fired == len(CORPUS) and report.failed == 0
    [message] = receiver.messages  # one grouped message: every line one alert
    lines = message["message"].splitlines()
    assert not UNSAFE.search(message["message"]) and not any(line.startswith("[FIRING] forged") for line in lines)
    assert sum(line.startswith("[FIRING] any_sessions") for line in lines) == len(CORPUS)
    assert f"{CORPUS['html']} ({FIRST_ID})" in message["message"]  # JSON: the raw text
    assert CORPUS["unicode"] in message["message"] and CORPUS["markdown"] in message["message"]

    html = "".join(smtp.parts("text/html"))
    assert html and "<img" not in html and "</script>" not in html and "&lt;img" in html
    assert CORPUS["html"] in "".join(smtp.parts("text/plain"))  # plain text shows it as it is

    [slack] = [json.loads(body) for url, body in outbound if "hooks.slack.com" in url]
    text = json.dumps(slack)
    assert slack["mrkdwn"] is False and "<https://evil" not in text and "<img" not in text and "&lt;img" in text
    [teams] = [json.loads(body) for url, body in outbound if "/workflows/" in url]
    card = " ".join(block.get("text", "") for block in teams["attachments"][0]["content"]["body"])
    assert "\\[click\\]\\(https" in card and not re.search(r"(?<!\\)!\\?\[pixel", card)

    [event] = report.events  # the alert_events asset's firing table in the UI
    _assert_inert_markdown(event.metadata["firing_alerts"].value)


def test_the_digest_names_hostile_companies_inert_one_line_each(loaded: Loaded, receiver: Receiver) -> None:
    receiver.start()
    digest = compose(loaded.warehouse.engine, "2026-W10", None, ENGLISH, NO_KPIS)
    assert Notifier(urls=receiver.url).send(digest.title, digest.body, "info")
    [message] = receiver.messages
    lines = message["message"].splitlines()
    assert not UNSAFE.search(message["message"]) and not any(line.startswith("[FIRING] forged") for line in lines)
    assert max(len(line) for line in lines) < 1000  # the 10,000-character name is cut
    named = [key for key, text in CORPUS.items() if plain(text) in message["message"]]
    assert len(named) >= 5, named  # the movers (5 grew, 5 fell) at least, each as `plain` shows it


def test_the_doctor_stays_one_line_a_check_against_a_hostile_api(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _settings_env(monkeypatch, tmp_path, PARADIGM_BASE_URL=loaded.simulator.url, PARADIGM_API_KEY=TOKEN)
    code = doctor_main(["--day", "2026-03-05"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert not UNSAFE.search(out) and all(line.startswith(("✓ ", "✗ ")) for line in out.splitlines()[:-1])


# The hostile-values table: a password in every variable that can hold one, valid or not.
HOSTILE_SETTINGS = [
    {"PARADIGM_BASE_URL": f"http://user:{SECRET}@127.0.0.1:1"},
    {"PARADIGM_API_KEY": SECRET},
    {"REPORTING_DATABASE_URL": f"postgresql+psycopg://user:{SECRET}@127.0.0.1:1/db"},
    {"REPORTING_DATABASE_URL": f"not a url {SECRET}"},
    {"REPORTING_REPORTS_DIR": f"sftp://user:{SECRET}@127.0.0.1/reports"},
    {"REPORTING_REPORTS_URL": f"ftp://user:{SECRET}@127.0.0.1/reports"},
    {"REPORTING_REPORTS_URL": f"https://user:{SECRET}@reports.example.org"},
    {"REPORTING_UI_URL": f"https://user:{SECRET}@dagster.example.org"},
    {"REPORTING_ALERT_URLS": f"json://user:{SECRET}@127.0.0.1:1/alerts"},
    {"REPORTING_ALERT_URLS": f"json://127.0.0.1:1/a, not-a-url-{SECRET}"},
    {"REPORTING_DIGEST_URLS": f"not-a-url-{SECRET}"},
    {"REPORTING_USER_ID_KEY": SECRET},  # too short: refused
    {"REPORTING_USER_ID_KEY": SECRET * 2},
    {"REPORTING_CELERY_BROKER_URL": f"amqp://user:{SECRET}@127.0.0.1:1//"},
    {"REPORTING_CELERY_BACKEND_URL": f"redis://:{SECRET}@127.0.0.1:1/0"},
    {"REPORTING_EXECUTOR": "celery", "REPORTING_DATABASE_URL": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db"},
]


def _settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("PARADIGM_BASE_URL", "http://127.0.0.1:1")  # refused at once: nothing to wait for
    monkeypatch.setenv("PARADIGM_API_KEY", "sim-token")
    monkeypatch.setenv("REPORTING_DATABASE_URL", f"sqlite:///{tmp_path / 'reporting.db'}")
    monkeypatch.setenv("REPORTING_REPORTS_DIR", str(tmp_path / "reports"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("env", HOSTILE_SETTINGS, ids=lambda env: "+".join(env))
def test_no_secret_in_any_settings_error_repr_or_doctor_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _settings_env(monkeypatch, tmp_path, **env)
    try:
        shown = repr(Settings.load())
    except SettingsError as exc:
        shown = str(exc)
        assert any(name in shown for name in env), shown  # named: the variable, or the setting it conflicts with
    doctor_main(["--day", "2026-03-05"])
    out = capsys.readouterr()
    assert SECRET not in shown and SECRET not in out.out + out.err
    assert not [line for line in (out.out + out.err).splitlines() if unicodedata.category(line[:1] or "x") == "Cc"]


def test_resources_show_no_secret_in_repr_or_str() -> None:
    shown = [
        ParadigmResource(base_url=f"https://u:{SECRET}@h", api_key=SECRET, user_id_key=SECRET * 2),
        Notifier(urls=f"json://u:{SECRET}@127.0.0.1/a,slack://{SECRET}/b/c"),
        Warehouse(url=f"postgresql+psycopg://u:{SECRET}@127.0.0.1/db"),
        Settings.load(paradigm_base_url="demo", reporting_database_url=f"postgresql://u:{SECRET}@h/db"),
    ]
    assert [SECRET in repr(r) or SECRET in str(r) for r in shown] == [False] * 4
    assert shown[0].api_key == SECRET  # masked when shown, whole when used


def test_per_user_lists_can_be_turned_off_keeping_the_aggregates(loaded: Loaded) -> None:
    page = render(loaded.warehouse.engine, NOW, user_lists=False, lang=ENGLISH, kpis=NO_KPIS).html
    model = json.loads(re.search(r'id="report-data">(.*?)</script>', page, re.S).group(1))
    assert not {"top_users", "dormant_users"} & set(model["tables"]) and 'data-csv="top_users"' not in page
    every = model["users"]["by_company"][str(model["all_id"])]
    assert every["funnel"][1] > 0 and sum(every["segments"]) == every["funnel"][1] and every["cohorts"]
    assert Settings.load(paradigm_base_url="demo", reporting_user_lists="off").reporting_user_lists == "off"
    with pytest.raises(SettingsError, match="REPORTING_USER_LISTS: "):
        Settings.load(paradigm_base_url="demo", reporting_user_lists="maybe")


def test_the_hostile_corpus_is_what_the_issue_lists() -> None:
    """Each kind of hostile text is in the corpus, so that no output's test silently loses one."""
    text = "".join(CORPUS.values())
    for needle in ("</script>", "](https://", "![", "=HYPERLINK", "|", "`", "\n", "\x00", "\u202e", "😀", "\u0301"):
        assert needle in text, repr(needle)
    assert max(len(t) for t in CORPUS.values()) >= 10_000 and date.fromisoformat(FIRST) < date.fromisoformat(LAST)
