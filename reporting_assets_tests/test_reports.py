"""The usage dashboard (opened offline in Debian's chromium) and the weekly digest (through a JSON receiver),
both read against the warehouse they come from; days not loaded are gaps and named, never zeros."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, build_schedule_context, materialize

from reporting_assets.alerts.notify import Notifier
from reporting_assets.custom_kpis.definition import NO_KPIS
from reporting_assets.i18n import ENGLISH
from reporting_assets.reports import digest
from reporting_assets.reports.figures import NEEDS_30_DAYS
from reporting_assets.reports.usage_dashboard import build_usage_dashboard
from reporting_assets.reports.weekly_digest import build_weekly_digest
from reporting_assets.warehouse.store import Warehouse
from reporting_assets.warehouse.tables import (
    adoption_satisfaction,
    alert_channels,
    alert_deliveries,
    alert_events,
    user_activities,
)
from reporting_assets_tests.browser import opened, pick, table_rows
from reporting_assets_tests.conftest import serving_simulator
from reporting_assets_tests.helpers import failure_message, kpi_assets, raw_assets, run
from reporting_assets_tests.page_walk import walk
from reporting_assets_tests.receiver import SECRET, Receiver

pytestmark = pytest.mark.xdist_group("reports")  # one worker builds the shared warehouse once
GAP = [date(2025, 2, 10), date(2025, 2, 11), date(2025, 2, 12)]  # never loaded: ISO week 2025-W07 is partial
URL = "https://reports.example.org/paradigm"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Warehouse:
    """Raw and KPI tables for 2025-01-27..2025-02-23 (ISO weeks 5 to 8) without GAP, and one alert opened in
    2025-W07."""
    warehouse = Warehouse(url=f"sqlite:///{tmp_path_factory.mktemp('reports') / 'reporting.db'}")
    with serving_simulator() as simulator:
        res = {"paradigm": simulator.resource(), "warehouse": warehouse}
        for start, end in (("2025-01-27", "2025-02-09"), ("2025-02-13", "2025-02-23")):
            assert run([*raw_assets, *kpi_assets], res, start, end).success
    with warehouse.engine.begin() as conn:
        conn.execute(
            alert_events.insert(),
            {
                "fingerprint": "low_satisfaction/102", "started_at": date(2025, 2, 14), "rule_name": "low_satisfaction",
                "severity": "warning", "asset": "adoption_satisfaction", "company_id": 102, "company_name": "Globex",
                "date": date(2025, 2, 15), "metric": "satisfaction_rate", "value": 0.31, "threshold": 0.6,
                "status": "firing", "notifications_sent": 1,
            },
        )  # fmt: skip
    return warehouse


@pytest.fixture(scope="module")
def dashboard(loaded: Warehouse, tmp_path_factory) -> tuple[Path, dict]:
    """The dashboard file as the asset writes it, and the asset's metadata."""
    reports = tmp_path_factory.mktemp("served")
    result = materialize(
        [build_usage_dashboard(str(reports), URL, user_lists=True, lang=ENGLISH, kpis=NO_KPIS)],
        resources={"warehouse": loaded},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return reports / "usage_dashboard.html", event.materialization.metadata


def _week(warehouse: Warehouse, company_id: int, first: date, last: date) -> dict[str, int]:
    t = adoption_satisfaction.c
    query = sa.select(sa.func.sum(t.sessions_count), sa.func.sum(t.user_queries_count)).where(
        t.company_id == company_id, t.date.between(first, last)
    )
    with warehouse.engine.connect() as conn:
        sessions, queries = conn.execute(query).one()
    return {"sessions": int(sessions), "queries": int(queries)}


def test_the_dashboard_asset_writes_one_small_file_and_says_where(dashboard: tuple[Path, dict]) -> None:
    path, metadata = dashboard
    assert metadata["path"].value == str(path) and path.is_file()
    assert 0 < path.stat().st_size < 5_000_000 and metadata["size_mb"].value == round(path.stat().st_size / 1e6, 3)
    assert metadata["url"].value == f"{URL}/usage_dashboard.html"
    assert (metadata["first_day"].value, metadata["last_day"].value) == ("2025-01-27", "2025-02-23")
    assert metadata["days_not_loaded"].value == len(GAP)
    headline = metadata["headline"].value
    assert all(name in headline for name in ("All companies", "ACME Corp", "Globex", "Initech"))
    assert "cdn" not in path.read_text().lower()  # every script inlined


def test_the_dashboard_opens_offline_and_shows_the_warehouses_figures_with_gaps(
    dashboard: tuple[Path, dict], loaded: Warehouse, chromium: str
) -> None:
    path, _ = dashboard
    with opened(chromium, path) as page:
        pick(page, "Globex (102)")
        lines = page.eval_on_selector_all(
            ".panel > div:not([hidden]) svg .mark-line path", "ps => ps.map(p => p.getAttribute('d'))"
        )
        weeks = table_rows(page, "weekly")
        notes = [page.inner_text(f"#note-{i}") for i in range(5) if page.is_visible(f"#note-{i}")]
        engagement_drawn = page.is_visible("#chart-4")
        pick(page, "All companies")
        note = page.inner_text("#missing-days")
        alerts = page.inner_text("#table-alerts")
    # 8 lines of the 4 panels drawn; never 30 days loaded in a row: no 30-day actives, and Engagement says why
    assert len(lines) == 8 and sum(bool(d) and d.startswith("M") for d in lines) == 7
    assert not engagement_drawn and "needs 30 loaded days in a row" in notes[-1]
    assert any("Active users (30 days): needs 30 loaded days in a row" in n for n in notes)
    # A day not loaded breaks each line (a new "M"ove), where a zero would have joined it to the axis
    assert all(d.count("M") >= 2 for d in lines[:4]), [d.count("M") for d in lines[:4]]
    expected = _week(loaded, 102, date(2025, 1, 27), date(2025, 2, 2))
    assert weeks["2025-W05"][:3] == ["2025-W05", f"{expected['sessions']:,}", f"{expected['queries']:,}"]
    assert weeks["2025-W07"][6] == "4" and weeks["2025-W07"][7] == ", ".join(map(str, GAP))
    assert f"{ENGLISH.date(GAP[0])}..{ENGLISH.date(GAP[-1])}" in note  # "Feb 10, 2025..Feb 12, 2025"
    assert "low_satisfaction" in alerts and "firing" in alerts


def _compare_rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#compare tbody tr", "trs => trs.map(tr => Array.from(tr.cells).slice(0, -1).map(c => c.textContent))"
    )


def test_a_week_or_month_not_wholly_loaded_is_drawn_apart_at_the_pace_of_its_loaded_days(
    dashboard: tuple[Path, dict], loaded: Warehouse, chromium: str
) -> None:
    """Weekly points: user queries summed over each ISO week's loaded days, every company together; the week with
    days never loaded (GAP) at the pace of its 4 loaded days (never looking like a drop), a hollow point on a dashed
    segment, never drawn solid; so are both months (January from the 27th, February, in progress, to the 23rd).
    Each panel's figures share one unit, and the time axis is ticked at the grain."""
    from reporting_assets.reports.chart_specs import CHART_FIGURES

    path, _ = dashboard
    read = "() => views[0].data('points').filter(r => r.figure === 'User queries')"
    row = ".map(r => [new Date(r.t).toISOString().slice(0, 10), r.value, r.partial, r.solid, r.note])"
    with opened(chromium, path) as page:
        page.select_option("#grain", "week")
        page.wait_for_selector("body[data-view='90/week']")
        weeks = page.evaluate(read + row)
        dashes = page.evaluate(
            "() => views[0].data('dashes').map(r => [new Date(r.t).toISOString().slice(0, 10), r.segment])"
        )
        rings = page.eval_on_selector_all(
            "#chart-0 svg .mark-symbol.role-mark path", "ps => ps.filter(p => p.getAttribute('fill') === 'transparent')"
        )
        dashed = page.eval_on_selector_all("#chart-0 svg .mark-line path[stroke-dasharray]", "ps => ps.length")
        page.select_option("#grain", "month")
        page.wait_for_selector("body[data-view='90/month']")
        months = page.evaluate(read + row)
        ticks = page.eval_on_selector_all("#chart-0 svg .role-axis-label text", "ts => ts.map(t => t.textContent)")
        units = page.evaluate("() => model.panels.map(p => p.figures.map(f => f.key))")
        people = page.evaluate("() => views[3].data('points').filter(r => r.figure === 'Active users in the period')"
                               ".map(r => r.value)")  # fmt: skip
    with loaded.engine.connect() as conn:  # people per month: counted once from the per-user rows, never summed days
        month = sa.func.strftime("%Y-%m", user_activities.c.date)
        distinct = sa.select(month, user_activities.c.company_id, sa.func.count(user_activities.c.user_id.distinct()))
        per_company = conn.execute(distinct.group_by(month, user_activities.c.company_id)).all()
    assert people == [sum(n for m, _, n in per_company if m == key) for key in ("2025-01", "2025-02")]
    t = adoption_satisfaction.c
    with loaded.engine.connect() as conn:
        week = sa.func.strftime("%Y-%W", t.date)
        sums = dict(conn.execute(sa.select(week, sa.func.sum(t.user_queries_count)).group_by(week)).all())
    expected = [sums[f"2025-{w:02d}"] for w in (4, 5, 6, 7)]  # SQLite's %W: Monday-first weeks, 2025-01-27 in 04
    expected[2] = round(expected[2] * 7 / 4)  # 2025-W07: 4 of its 7 days loaded, at their pace
    assert [w[0] for w in weeks] == ["2025-01-27", "2025-02-03", "2025-02-10", "2025-02-17"]
    assert [w[1] for w in weeks] == expected and [w[2] for w in weeks] == [False, False, True, False]
    assert [w[3] for w in weeks] == [expected[0], expected[1], None, expected[3]]  # never drawn solid
    assert weeks[2][4] == "4 of 7 days loaded"
    gap_week = [d for d, s in dashes if s.endswith("2") and s.startswith("user_queries_count")]
    assert gap_week == ["2025-02-03", "2025-02-10", "2025-02-17"]  # the dashed segment: its neighbours to it
    assert len(rings) == 2 and dashed >= 2  # a hollow point and a dashed segment a figure of the panel
    assert [m[0] for m in months] == ["2025-01-01", "2025-02-01"] and [m[2] for m in months] == [True, True]
    assert [m[4] for m in months] == ["5 of 31 days loaded", "in progress: 20 of 28 days"]
    assert [m[3] for m in months] == [None, None]
    dates = [label for label in ticks if re.search("[a-z]", label)]  # the time axis's, not the counts'
    assert dates == ["Jan 2025", "Feb 2025"], ticks  # a tick a month, labelled by month
    for keys in units:
        assert len({CHART_FIGURES[k][2] for k in keys}) == 1, keys


def test_companies_side_by_side_sort_filter_pick_and_say_why_a_figure_is_unknown(
    dashboard: tuple[Path, dict], chromium: str
) -> None:
    """With "All companies", one row per company: the figures its own headline shows, sortable, filtered by name,
    a click picks the company; an unknown figure is "–" with its reason on hover, never 0."""
    path, _ = dashboard
    with opened(chromium, path) as page:
        header = page.eval_on_selector_all("#compare thead th", "ths => ths.map(th => th.textContent)")
        rows = {row[0]: row for row in _compare_rows(page)}
        reasons = page.eval_on_selector_all("#compare tbody tr", "trs => trs.map(tr => tr.cells[1].title)")
        sparklines = page.eval_on_selector_all("#compare tbody svg path", "ps => ps.map(p => p.getAttribute('d'))")
        page.click("#compare thead th >> text='Sessions, 7 days'")
        by_sessions = [row[0] for row in _compare_rows(page)]
        page.click("#compare thead th >> text='Sessions, 7 days'")
        by_sessions_ascending = [row[0] for row in _compare_rows(page)]
        page.fill("#compare-filter", "glob")
        filtered = [row[0] for row in _compare_rows(page)]
        headlines = {}
        for label in rows:
            pick(page, label)
            headlines[label] = page.eval_on_selector_all("#headline .value", "vs => vs.map(v => v.textContent)")
            assert not page.is_visible("#compare-section")
        pick(page, "All companies")
        page.fill("#compare-filter", "")
        page.click("#compare tbody td.pick >> text='Initech (103)'")
        page.wait_for_function("() => document.body.dataset.picked === 'Initech (103)'")
        picked = page.input_value("#company")
    assert header[0] == "Company" and header[-1] == "Sessions per week"
    assert set(rows) == {"ACME Corp (101)", "Globex (102)", "Initech (103)"}
    for label, row in rows.items():  # active users, adoption, sessions, satisfaction: as the company's own headline
        users, adoption, sessions, _, satisfaction = headlines[label]
        assert [row[1], row[3], row[4], row[6]] == [users, adoption, sessions, satisfaction], label
        assert row[8] == "2025-02-23" and row[9] == ("1" if label == "Globex (102)" else "0")
    assert {row[1] for row in rows.values()} == {"–"} and set(reasons) == {NEEDS_30_DAYS}  # 30 days never loaded
    assert len(sparklines) == 3 and all(d.startswith("M") for d in sparklines)
    sessions = {label: int(row[4].replace(",", "")) for label, row in rows.items()}
    assert by_sessions == sorted(sessions, key=sessions.get, reverse=True) == by_sessions_ascending[::-1]
    assert filtered == ["Globex (102)"] and picked == "Initech (103)"


def test_a_reader_walks_the_demo_page_and_prints_it(dashboard: tuple[Path, dict], chromium: str) -> None:
    """The demo's page, walked as `page_walk` does the large ones: sort, filter, pick, every range and grain, and
    Print → Save as PDF (A4 pages, the picked company's headline on page 1, no control, no chart cut)."""
    path, _ = dashboard
    with opened(chromium, path) as page:
        walked = walk(page)
    assert walked.views == 10 and walked.pdf_pages >= 2 and set(walked.seconds) >= {"sort", "filter", "pick"}


def test_top_resources_compare_with_the_days_before_only_when_those_were_all_loaded(loaded: Warehouse) -> None:
    from reporting_assets.reports.figures import Coverage, top_resources

    coverage = Coverage.read(loaded.engine)  # read once, for both
    known = top_resources(loaded.engine, coverage, date(2025, 2, 9), days=7)  # vs 2025-01-27..02-02, all loaded
    assert known["uses_before"].notna().all() and known["change"].notna().any()
    unknown = top_resources(loaded.engine, coverage, date(2025, 2, 23), days=7)  # vs 02-10..02-16, GAP inside
    assert len(unknown) and unknown["uses_before"].isna().all() and unknown["change"].isna().all()


def test_the_weekly_digest_is_sent_once_per_channel_and_week_and_names_missing_days(
    loaded: Warehouse, receiver: Receiver
) -> None:
    late = Receiver()  # a second channel, down at first
    clock = [datetime(2025, 2, 17, 7, tzinfo=UTC)]
    job, schedule = build_weekly_digest(7, URL, ENGLISH, NO_KPIS, now=lambda: clock[0])
    notifier = Notifier(urls=f"{receiver.url},{late.url.replace('/alerts', '/digest')}")
    resources = {"warehouse": loaded, "digest_notifier": notifier}
    instance = DagsterInstance.ephemeral()
    receiver.start()
    try:
        runs = []
        for attempt in range(2):  # the same Monday tick evaluated twice (a daemon restart)
            context = build_schedule_context(scheduled_execution_time=clock[0])
            [request] = schedule.evaluate_tick(context).run_requests
            assert request.run_key == "weekly_digest:2025-W07"
            runs.append(
                job.execute_in_process(request.run_config, instance=instance, resources=resources, raise_on_error=False)
            )
            if attempt == 0:
                late.start()  # back, but the first run's refusal holds it back a minute (the alerts' backoff)
        assert not runs[0].success and not runs[1].success  # the second channel refused, then waits: visible
        assert "1 channel(s) did not accept it" in failure_message(runs[1]) and SECRET not in failure_message(runs[0])
        assert not late.messages
        clock[0] += timedelta(minutes=2)  # the backoff passed: re-runs from the UI
        for _ in range(2):
            runs.append(job.execute_in_process(request.run_config, instance=instance, resources=resources))
        assert runs[2].success and runs[3].success
    finally:
        late.stop()
    assert len(receiver.messages) == 1 and len(late.messages) == 1  # once per channel, whatever happened
    assert receiver.messages[0]["message"] == late.messages[0]["message"]
    with loaded.engine.connect() as conn:
        sent = conn.execute(sa.select(alert_deliveries.c.fingerprint).where(alert_deliveries.c.transition == "digest"))
        assert sent.scalars().all() == ["weekly_digest/2025-W07"] * 2
        assert conn.execute(sa.select(sa.func.count()).select_from(alert_channels)).scalar_one() == 0  # it works

    # what was sent is the week's model laid out; the model holds the warehouse's figures
    model = digest.build(loaded.engine, "2025-W07", f"{URL}/usage_dashboard.html", NO_KPIS)
    sent = digest.text(model, ENGLISH)
    [message] = receiver.messages
    assert (message["title"], message["message"]) == (sent.title, sent.body)
    assert model.missing == tuple(GAP) and model.dashboard_url == f"{URL}/usage_dashboard.html"
    companies = {c.company_id: c for c in model.companies}
    assert [c.company for c in model.companies] == ["ACME Corp", "Globex", "Initech"]
    for company_id in (101, 102, 103):
        expected = _week(loaded, company_id, date(2025, 2, 10), date(2025, 2, 16))
        assert companies[company_id].now["sessions_count"] == expected["sessions"]
        assert companies[company_id].now["user_queries_count"] == expected["queries"]
    assert (companies[102].opened, companies[102].resolved) == (1, 0)
    assert (model.total.opened, model.total.resolved) == (1, 0)
    assert companies[103].now["active_users"] is None  # its 7 days are not all loaded
    # and the layout says what a partial week is
    shown = "; ".join(ENGLISH.date(day) for day in GAP)  # the reader's dates: "Feb 10, 2025"
    assert "3 days not loaded" in sent.title and f"Not loaded: {shown}." in sent.body


def test_a_week_given_by_hand_must_be_an_iso_week(loaded: Warehouse) -> None:
    job, _ = build_weekly_digest(7, None, ENGLISH, NO_KPIS)
    config = {"ops": {"send_weekly_digest": {"config": {"week": "2025-07"}}}}
    resources = {"warehouse": loaded, "digest_notifier": Notifier()}
    result = job.execute_in_process(config, resources=resources, raise_on_error=False)
    assert not result.success and "2025-07" in failure_message(result) + str(result.all_events)


def test_the_digest_waits_for_the_morning_refresh_before_naming_missing_days(
    tmp_path: Path, receiver: Receiver
) -> None:
    """At the digest hour the refresh loading Sunday is still running: the digest waits for it (its `sleep` is
    where the refresh ends here), then reads a whole week, Sunday included."""
    from dagster import DagsterEvent, DagsterEventType, DagsterRun, DagsterRunStatus

    from reporting_assets_tests.synthetic import write_instance

    warehouse = Warehouse(url=f"sqlite:///{tmp_path / 'reporting.db'}")
    write_instance(warehouse, date(2025, 2, 3), 13, 3, resources=1)  # Monday 02-03 .. Saturday 02-15
    instance = DagsterInstance.ephemeral()
    instance.add_run(DagsterRun(job_name="daily_refresh", run_id="refresh-1", status=DagsterRunStatus.STARTED))
    waited = []

    def refresh_ends(seconds: float) -> None:  # the refresh loads Sunday and ends while the digest waits
        waited.append(seconds)
        write_instance(warehouse, date(2025, 2, 16), 1, 3, resources=1)
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_SUCCESS.value, "daily_refresh"), "refresh-1")

    monday = datetime(2025, 2, 17, 7, tzinfo=UTC)
    job, _ = build_weekly_digest(7, URL, ENGLISH, NO_KPIS, now=lambda: monday, sleep=refresh_ends)
    receiver.start()
    resources = {"warehouse": warehouse, "digest_notifier": Notifier(urls=receiver.url)}
    assert job.execute_in_process(instance=instance, resources=resources).success
    assert len(waited) == 1 and instance.get_run_by_id("refresh-1").status == DagsterRunStatus.SUCCESS
    [message] = receiver.messages
    assert "2025-W07" in message["title"] and "not loaded" not in message["title"]
    assert "Not loaded" not in message["message"]


@pytest.mark.parametrize(
    ("now", "before", "rate", "delta", "words"),
    [
        (0.85, 0.84, True, 0.01, "+1.0 pts"),
        (0.5, 0.5, True, 0.0, "+0.0 pts"),  # never "-0.0"
        (0.2, 0.0, True, 0.2, "+20.0 pts"),  # a rate from 0 is still points
        (10, 8, False, 0.25, "+25%"),
        (7, 8, False, -0.125, "-12%"),
        (10, 0, False, None, "was 0"),  # no relative change from 0
        (10, None, False, None, ""),  # the period before is unknown
    ],
)
def test_a_change_is_computed_once_and_worded_once(now, before, rate, delta, words) -> None:
    from reporting_assets.metrics import change
    from reporting_assets.reports.figures import change_words

    found = change(now, before, rate)
    assert found == pytest.approx(delta) if delta is not None else found is None
    assert change_words(now, before, rate, lang=ENGLISH) == words


def test_the_page_model_is_what_dashboard_js_reads() -> None:
    """`page_model.py` and `dashboard.js` in step: each `holder.field` the script reads is a field of the dataclass
    that holder is, and each field of the model is read by the script (or, for a table's title and download text,
    by the template)."""
    import dataclasses
    import re

    from reporting_assets.reports import page_model as m

    folder = Path(m.__file__).parent
    script = (folder / "dashboard.js").read_text(encoding="utf-8")
    template = (folder / "dashboard.html.j2").read_text(encoding="utf-8")
    holders = {  # the script's names for parts of the model
        "model": [m.Page], "picked": [m.Company], "company": [m.Company], "found": [m.Company],
        "c": [m.Column, m.Company], "table": [m.Table, m.Compare], "panel": [m.Panel],
        "figure": [m.ChartFigure, m.HeadlineFigure], "people": [m.Users], "mine": [m.CompanyUsers], "axis": [m.Axis],
    }  # fmt: skip
    fields = {name: {f.name for c in classes for f in dataclasses.fields(c)} for name, classes in holders.items()}
    read = set(re.findall(r"(?=\b([a-z]+)\.([a-z_]+)\b)", script))  # overlapping: a.b.c reads b of a and c of b
    unknown = sorted(f"{holder}.{field}" for holder, field in read if holder in fields and field not in fields[holder])
    assert not unknown, f"dashboard.js reads what the page model does not hold: {unknown}"
    read_fields = {field for _, field in read} | {f for f in ("title", "download") if f"table.{f}" in template}
    classes = [c for c in vars(m).values() if dataclasses.is_dataclass(c)]
    unread = sorted(
        f"{c.__name__}.{f.name}" for c in classes for f in dataclasses.fields(c) if f.name not in read_fields
    )
    assert not unread, f"the page model holds what nothing reads: {unread}"
    assert {"model", "picked", "table", "mine"} <= {holder for holder, _ in read}  # the names above are the script's


def test_a_dashboard_before_any_load_is_the_page_template_saying_so(tmp_path) -> None:
    from reporting_assets.reports.dashboard import render

    empty = render(
        Warehouse(url=f"sqlite:///{tmp_path / 'w.db'}").engine,
        datetime(2025, 3, 1, 6, tzinfo=UTC),
        user_lists=True,
        lang=ENGLISH,
        kpis=NO_KPIS,
    )
    assert (empty.first, empty.last, empty.missing_days) == (None, None, 0)
    assert "<title>Paradigm usage</title>" in empty.html and "@media print" in empty.html  # the template's head
    assert 'id="nothing-loaded"' in empty.html and "2025-03-01 06:00 UTC" in empty.html
    assert "report-data" not in empty.html and "vegaEmbed" not in empty.html  # no model, no charts
