"""The usage dashboard: one self-contained HTML page that opens from disk on a machine without network.

Sized by what a reader takes in, not by the instance: headline figures against the period before, four trend
panels whose points are bounded (each day of the last 90, then weeks, then months), a searchable company picker
(the most active `MAX_COMPANIES`), and tables with CSV downloads. `figures.py` computes the model once,
`chart_specs.py` holds the charts (Vega-Lite specs, the inlined vega-embed bundle of vl-convert) and `page_tables.py`
the tables; this module assembles the page model and lays it out in the `dashboard.html.j2` template (Jinja2,
autoescaped), with `dashboard.js` for the picker, the charts and the downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources

from sqlalchemy import Engine

from reporting_assets.alerts import history
from reporting_assets.i18n import ENGLISH, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID, RATIOS
from reporting_assets.neutralise import markdown_table, plain
from reporting_assets.reports import chart_specs, compare, figures, page_tables, users
from reporting_assets.reports.figures import change_text, value_text
from reporting_assets.reports.page_model import (
    ChartFigure,
    Company,
    CsvFormat,
    HeadlineFigure,
    Page,
    Panel,
    Table,
    Users,
    as_json,
)

FILE_NAME = "usage_dashboard.html"
DAILY_DAYS = 90  # daily chart points; weeks, then months, before
MAX_COMPANIES = 250  # in the picker (the most active over the last 90 days): the page stays bounded


@dataclass(frozen=True)
class Dashboard:
    html: str
    headline: str  # Markdown: the headline figures of all companies and the most active ones
    first: date | None
    last: date | None
    missing_days: int  # days of first..last not loaded (for every company)


def _ranges(days: list[date], most: int = 20) -> str:
    """`2025-03-01..2025-03-04, 2025-03-09` from sorted days (the first `most` spans)."""
    spans: list[list[date]] = []
    for day in days:
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    shown = ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in spans[:most])
    return shown + (f" and {len(spans) - most} more spans" if len(spans) > most else "")


def _users(engine: Engine, chosen: list[int], last: date, lists: bool) -> tuple[Users, dict[str, Table]]:
    """The Users section's model (per company) and its two tables (none without `lists`)."""
    section = users.section(engine, chosen, last, lists)
    tables = {}
    for name, title, download, empty in (
        ("top_users", "Most engaged users", "every listed user", "No per-user data yet."),
        ("dormant_users", "Users gone dormant most recently", "every listed dormant user", "No dormant user."),
    )[: 2 if lists else 0]:
        rows, left = section.tables[name]
        note = f"; {left:,} more in the warehouse table user_engagement" if left else ""
        tables[name] = page_tables.table(
            title, download + note, users.USER_COLUMNS, rows, every_company=True, empty=empty
        )
    by_company = {str(cid): company for cid, company in section.by_company.items()}
    people = Users(section.known, by_company, section.segments, chart_specs.user_specs(), users.NO_USERS)
    return people, tables


def _headline_markdown(heads: dict[int, figures.Headline], order: list[int], most: int = 20) -> str:
    rows = []
    for company_id in order[: most + 1]:
        head = heads[company_id]
        rows.append({"company": head.company, **{f.label: value_text(f) for f in head.figures}})
    return markdown_table(pd.DataFrame(rows))


def render(engine: Engine, now: datetime, user_lists: bool = True, lang: Language = ENGLISH) -> Dashboard:
    """The dashboard over the whole loaded history, as of `now`; per-user lists only with `user_lists`
    (`REPORTING_USER_LISTS`: the aggregates of the Users section stay either way); its downloads for a spreadsheet
    in `lang` (the page's text is English yet)."""
    import jinja2
    from altair.utils.html import vl_version_for_vl_convert
    from markupsafe import Markup

    coverage = figures.Coverage.read(engine)
    span = coverage.span()
    environment = jinja2.Environment(autoescape=True)
    environment.policies["json.dumps_kwargs"] = {"allow_nan": False}  # a NaN would be invalid JSON: fail here
    template = environment.from_string(
        resources.files(__package__).joinpath("dashboard.html.j2").read_text(encoding="utf-8")
    )
    if span is None:
        page = template.render(empty=True, generated=f"{now:%Y-%m-%d %H:%M}")
        return Dashboard(page, "_no data loaded yet_", None, None, 0)
    first, last = span
    vega_script = chart_specs.vega_bundle()
    days = figures.daily(engine, coverage, first, last)
    totals = days[days["company_id"] == ALL_COMPANIES_ID]
    missing = [d.date() for d in totals.loc[~totals["loaded"], "date"]]

    recent = days[days["date"] > pd.Timestamp(last - timedelta(days=DAILY_DAYS))]
    activity = recent.groupby("company_id")["sessions_count"].sum().drop(ALL_COMPANIES_ID, errors="ignore")
    chosen = activity.sort_values(ascending=False, kind="stable").index[:MAX_COMPANIES].tolist()
    names = days.drop_duplicates("company_id").set_index("company_id")["company"]
    kept = days if len(chosen) == len(names) - 1 else days[days["company_id"].isin([ALL_COMPANIES_ID, *chosen])]
    heads = figures.headlines(kept, last)
    points = figures.chart_points(kept, last, DAILY_DAYS)
    t = sorted(points["t"].unique())
    series = {cid: rows.set_index("t").reindex(t) for cid, rows in points.groupby("company_id")}
    ordered = [ALL_COMPANIES_ID, *sorted(chosen, key=lambda c: (str(names[c]).lower(), c))]
    companies = [
        Company(
            id=int(cid),
            name=str(names[cid]),
            title=plain(names[cid]),
            # the picker's text: one line (an input drops line breaks, so a name holding one could not be picked)
            label=ALL_COMPANIES if cid == ALL_COMPANIES_ID else f"{plain(names[cid]).strip()} ({cid})",
            series={p: chart_specs.compact(series[cid][p]) for p in figures.PARTS},
            headline=[HeadlineFigure(value_text(f), change_text(f), f.why) for f in heads[cid].figures],
        )
        for cid in ordered
    ]
    rates = [name for name, r in RATIOS.items() if all(p in figures.PARTS for p in r.parts)]
    people, user_tables = _users(engine, chosen, last, user_lists)
    alerts = history.for_reports(engine, last - timedelta(days=30))
    tables = {
        "weekly": page_tables.weekly(kept),
        "top": page_tables.top(figures.top_resources(engine, coverage, last)),
        "alerts": page_tables.alerts(alerts),
        **user_tables,
    }
    labels = {c.id: c.label for c in companies if c.id != ALL_COMPANIES_ID}
    model = Page(
        t=[str(d.date()) for d in t],
        daily_from=sum(d < pd.Timestamp(last - timedelta(days=DAILY_DAYS - 1)) for d in t),
        ratios={name: [list(RATIOS[name].numerator), list(RATIOS[name].denominator)] for name in rates},
        daily_columns=[*figures.PARTS, *rates],
        panels=[
            Panel([ChartFigure(k, *chart_specs.CHART_FIGURES[k]) for k in keys])
            for keys, _ in chart_specs.PANELS.values()
        ],
        specs=chart_specs.panel_specs(first, last),
        all_id=ALL_COMPANIES_ID,
        companies=companies,
        compare=compare.side_by_side(heads, labels, kept, alerts, page_tables.WEEKS_SHOWN),
        tables=tables,
        users=people,
        csv=CsvFormat(lang.csv_separator, lang.decimal_symbol),
    )
    left_out = len(names) - 1 - len(chosen)
    html = template.render(
        vegalite_version=vl_version_for_vl_convert(),
        vega_script=Markup(vega_script),  # noqa: S704
        app_script=Markup(resources.files(__package__).joinpath("dashboard.js").read_text(encoding="utf-8")),  # noqa: S704
        first=first,
        last=last,
        generated=f"{now:%Y-%m-%d %H:%M}",
        missing=_ranges(missing),
        missing_count=len(missing),
        left_out=(
            f"The picker holds the {len(chosen)} most active companies of {len(names) - 1} (sessions over the last "
            f"{DAILY_DAYS} days); every company is in the warehouse tables and in the figures of {ALL_COMPANIES}."
        )
        if left_out > 0
        else "",
        all_companies=ALL_COMPANIES,
        picker=[c.label for c in companies],
        headline=[
            {"label": f.label, "value": value_text(f), "change": change_text(f), "why": f.why}
            for f in heads[ALL_COMPANIES_ID].figures
        ],
        granularity=f"One point a day over the last {DAILY_DAYS} days, before that one a week (then one a month "
        "after two years): the average per loaded day. Days not loaded are gaps, never zeros.",
        panels=list(chart_specs.PANELS),
        users_funnel=users.FUNNEL,
        tables=[{"name": name, "title": table.title, "download": table.download} for name, table in tables.items()],
        model=as_json(model),
    )
    order = [ALL_COMPANIES_ID, *chosen]
    return Dashboard(html, _headline_markdown(heads, order), first, last, len(missing))
