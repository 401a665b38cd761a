"""The usage dashboard: one self-contained HTML page that opens from disk on a machine without network.

Sized by what a reader takes in, not by the instance: headline figures against the period before, four trend
panels over the range and at the grain the reader picks (each day of the last 90, ISO week of the last 104, month
of the last 60), a searchable company picker (the most active `MAX_COMPANIES`), and tables with CSV downloads, in
the reader's language (`i18n.py`). `figures.py` computes the model once,
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
from reporting_assets.custom_kpis.definition import KpiFile
from reporting_assets.i18n import N_, NP_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID, RATIOS
from reporting_assets.neutralise import markdown_table, plain
from reporting_assets.reports import chart_specs, compare, figures, groups, page_tables, users, your_kpis
from reporting_assets.reports.figures import change_text, value_text
from reporting_assets.reports.page_model import (
    Axis,
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
ACTIVE_DAYS = 90  # the picker's companies: the most active over these last days
MAX_COMPANIES = 250  # in the picker (the most active over the last `ACTIVE_DAYS`): the page stays bounded


@dataclass(frozen=True)
class Dashboard:
    html: str
    headline: str  # Markdown: the headline figures of all companies and the most active ones
    first: date | None
    last: date | None
    missing_days: int  # days of first..last not loaded (for every company)


# What dashboard.js writes itself, translated into the page's model (`Page.text`)
SCRIPT_MESSAGES = (
    N_("no members recorded yet"), N_("{share} of the step before"), N_("needs the members count"),
    N_("members minus ever active"), N_("not known"), N_("new"), N_("newly dormant"), N_("power"), N_("regular"),
    N_("occasional"), N_("dormant"), N_("(the first {limit} of {count}: the CSV holds them all)"),
    N_("Sessions per week"), N_("{points} pts"), N_("{label}: {value}"), N_("Pick a company to see its groups."),
    N_("Active users per period"),
)  # fmt: skip
# ... and with a count (`Page.plurals`): `tCount(singular, count)` picks the reader's form
SCRIPT_PLURALS = (
    NP_("{shown} of {total} company", "{shown} of {total} companies"),
    NP_("one a day: the last {days} day only", "one a day: the last {days} days only"),
    NP_("{shown} group", "{shown} groups"),
    chart_specs.IN_PROGRESS, chart_specs.SHORT,
)  # fmt: skip


def _ranges(days: list[date], lang: Language, most: int = 20) -> str:
    """`Mar 1, 2025..Mar 4, 2025; Mar 9, 2025` from sorted days (the first `most` spans), in `lang`."""
    spans: list[list[date]] = []
    for day in days:
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    shown = "; ".join(lang.date(a) if a == b else f"{lang.date(a)}..{lang.date(b)}" for a, b in spans[:most])
    left = len(spans) - most
    more = lang.ngettext(" and {count} more span", " and {count} more spans", left).format(count=left)
    return shown + (more if len(spans) > most else "")


def _series(
    points: dict[str, pd.DataFrame],
) -> tuple[dict[str, Axis], dict[str, dict[int, pd.DataFrame]], dict[str, dict[int, dict[str, int]]]]:
    """`figures.chart_series` as the page holds it: per grain, one axis for every company, each company's values at
    each point of it, and the loaded days of its points not wholly loaded (by index; a day is loaded or a gap)."""
    axes, series, partial = {}, {}, {}
    for grain, rows in points.items():
        periods = rows.drop_duplicates("t").sort_values("t")
        t = list(periods["t"])
        axes[grain] = Axis(
            [f"{d:%Y-%m-%d}" for d in t], [f"{d:%Y-%m-%d}" for d in periods["end"]], periods["period_days"].tolist()
        )
        by = {int(cid): own.set_index("t").reindex(t) for cid, own in rows.groupby("company_id")}
        series[grain] = by
        days = periods["period_days"].to_numpy()
        partial[grain] = {}
        for cid, own in by.items():
            counts = own["loaded_days"].fillna(0).astype(int).to_numpy()
            short = (counts > 0) & (counts < days)
            partial[grain][cid] = {str(i): int(counts[i]) for i in short.nonzero()[0]}
    return axes, series, partial


def _users(
    engine: Engine, chosen: list[int], last: date, lists: bool, lang: Language
) -> tuple[Users, dict[str, Table]]:
    """The Users section's model (per company) and its two tables (none without `lists`)."""
    section = users.section(engine, chosen, last, lists)
    tables = {}
    for name, title, download, empty in (
        ("top_users", N_("Most engaged users"), N_("every listed user"), N_("No per-user data yet.")),
        ("dormant_users", N_("Users gone dormant most recently"), N_("every listed dormant user"),
         N_("No dormant user.")),
    )[: 2 if lists else 0]:  # fmt: skip
        rows, left = section.tables[name]
        more = lang.gettext("; {count} more in the warehouse table user_engagement").format(count=lang.number(left))
        tables[name] = page_tables.table(
            lang.gettext(title), lang.gettext(download) + (more if left else ""), users.USER_COLUMNS, rows, lang,
            every_company=True, empty=lang.gettext(empty),
        )  # fmt: skip
    by_company = {str(cid): company for cid, company in section.by_company.items()}
    people = Users(
        section.known, by_company, section.segments, chart_specs.user_specs(lang), lang.gettext(users.NO_USERS)
    )
    return people, tables


def _headline_markdown(heads: dict[int, figures.Headline], order: list[int], lang: Language, most: int = 20) -> str:
    rows = []
    for company_id in order[: most + 1]:
        head = heads[company_id]
        company = lang.gettext(ALL_COMPANIES) if company_id == ALL_COMPANIES_ID else head.company
        rows.append({"company": company, **{f.label: value_text(f, lang) for f in head.figures}})
    return markdown_table(pd.DataFrame(rows))


def render(engine: Engine, now: datetime, user_lists: bool, lang: Language, kpis: KpiFile) -> Dashboard:
    """The dashboard over the whole loaded history, as of `now`; per-user lists only with `user_lists`
    (`REPORTING_USER_LISTS`: the aggregates of the Users section stay either way); its downloads for a spreadsheet
    in `lang`, and its text, numbers and dates in `lang` too; a section for the KPIs of `kpis` (REPORTING_KPIS)."""
    import jinja2
    from altair.utils.html import vl_version_for_vl_convert
    from markupsafe import Markup

    coverage = figures.Coverage.read(engine)
    span = coverage.span()
    environment = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    environment.install_gettext_callables(lang.gettext, lang.ngettext, newstyle=True)  # type: ignore[attr-defined]
    # a NaN would be invalid JSON: fail here; no space after a separator: the model is most of the page
    environment.policies["json.dumps_kwargs"] = {"allow_nan": False, "separators": (",", ":")}
    template = environment.from_string(
        resources.files(__package__).joinpath("dashboard.html.j2").read_text(encoding="utf-8")
    )
    if span is None:
        page = template.render(empty=True, generated=f"{now:%Y-%m-%d %H:%M}", lang=lang.code)
        return Dashboard(page, "_no data loaded yet_", None, None, 0)
    first, last = span
    vega_script = chart_specs.vega_bundle()
    activity = figures.most_active(engine, first, last, ACTIVE_DAYS)
    chosen = activity.index[:MAX_COMPANIES].tolist()
    kept = figures.daily(engine, coverage, first, last, keep=chosen)
    kept.loc[kept["company_id"] == ALL_COMPANIES_ID, "company"] = lang.gettext(ALL_COMPANIES)  # its name, read
    totals = kept[kept["company_id"] == ALL_COMPANIES_ID]
    missing = [d.date() for d in totals.loc[~totals["loaded"], "date"]]
    names = kept.drop_duplicates("company_id").set_index("company_id")["company"]
    heads = figures.headlines(kept, last, lang)
    periods = figures.people(engine, first, last, chosen)
    axes, series, partial = _series(figures.chart_series(kept, last, periods))
    ordered = [ALL_COMPANIES_ID, *sorted(chosen, key=lambda c: (str(names[c]).lower(), c))]
    by_activity = {c: str(names[c]) for c in [ALL_COMPANIES_ID, *chosen]}
    mine = your_kpis.section(engine, kpis, by_activity, axes, kept, periods, last, lang)
    companies = [
        Company(
            id=int(cid),
            name=str(names[cid]),
            title=plain(names[cid]),
            # the picker's text: one line (an input drops line breaks, so a name holding one could not be picked)
            label=names[cid] if cid == ALL_COMPANIES_ID else f"{plain(names[cid]).strip()} ({cid})",
            series={
                grain: {
                    **{p: chart_specs.compact(by[cid][p]) for p in figures.SERIES},
                    **mine.series.get(cid, {}).get(grain, {}),
                }
                for grain, by in series.items()
            },
            partial={grain: by[cid] for grain, by in partial.items()},
            headline=[HeadlineFigure(value_text(f, lang), change_text(f, lang), f.why) for f in heads[cid].figures],
            kpis=mine.cards[cid],
            kpi_partial=mine.partial.get(cid, {}),
        )
        for cid in ordered
    ]
    rates = [name for name, r in RATIOS.items() if all(p in figures.PARTS for p in r.parts)]
    people, user_tables = _users(engine, chosen, last, user_lists, lang)
    alerts = history.for_reports(engine, last - timedelta(days=30))
    top = figures.top_resources(engine, coverage, last, keep=chosen)
    top.loc[top["company_id"] == ALL_COMPANIES_ID, "company"] = lang.gettext(ALL_COMPANIES)
    tables = {
        "weekly": page_tables.weekly(kept, periods, lang),
        "top": page_tables.top(top, lang),
        "alerts": page_tables.alerts(alerts, lang),
        **user_tables,
        **({"kpis": mine.table} if kpis.kpis else {}),
    }
    labels = {c.id: c.label for c in companies if c.id != ALL_COMPANIES_ID}
    model = Page(
        axes=axes,
        ratios={name: [list(RATIOS[name].numerator), list(RATIOS[name].denominator)] for name in rates},
        daily_columns=[*figures.PARTS, *rates],
        panels=[
            Panel([ChartFigure(k, *chart_specs.chart_figure(k, lang)) for k in keys])
            for keys, _ in chart_specs.PANELS.values()
        ],
        specs=chart_specs.panel_specs(lang),
        all_id=ALL_COMPANIES_ID,
        companies=companies,
        compare=compare.side_by_side(heads, labels, kept, periods, alerts, page_tables.WEEKS_SHOWN, lang),
        tables=tables,
        users=people,
        kpis=mine.section,
        groups=groups.section(engine, chosen, last, lang),
        csv=CsvFormat(lang.csv_separator, lang.decimal_symbol),
        locale=lang.code,
        vega_locale=lang.vega_locale(),
        text={message: lang.gettext(message) for message in SCRIPT_MESSAGES},
        plurals={singular: lang.plural_forms(singular, plural) for singular, plural in SCRIPT_PLURALS},
    )
    left_out = len(activity) - len(chosen)
    html = template.render(
        vegalite_version=vl_version_for_vl_convert(),
        vega_script=Markup(vega_script),  # noqa: S704
        app_script=Markup(resources.files(__package__).joinpath("dashboard.js").read_text(encoding="utf-8")),  # noqa: S704
        lang=lang.code,
        first=lang.date(first),
        last=lang.date(last),
        generated=f"{now:%Y-%m-%d %H:%M}",
        missing=_ranges(missing, lang),
        missing_count=lang.number(len(missing)),
        left_out=lang.gettext(
            "The picker holds the {chosen} most active companies of {total} (sessions over the last {days} days); "
            "every company is in the warehouse tables and in the figures of {all}."
        ).format(
            chosen=lang.number(len(chosen)),
            total=lang.number(len(activity)),
            days=ACTIVE_DAYS,
            all=lang.gettext(ALL_COMPANIES),
        )
        if left_out > 0
        else "",
        all_companies=lang.gettext(ALL_COMPANIES),
        picker=[c.label for c in companies],
        headline=[
            {"label": f.label, "value": value_text(f, lang), "change": change_text(f, lang), "why": f.why}
            for f in heads[ALL_COMPANIES_ID].figures
        ],
        granularity=lang.gettext(
            "Days: the last {days}. Weeks and months: counts are sums over their loaded days, at the pace of those "
            "days when not all are loaded; active users are the period's distinct people, 7- and 30-day actives "
            "and members its last loaded day's; rates come from the summed parts. A period not wholly loaded (the "
            "one in progress among them) is a hollow point on a dashed segment. Days not loaded are gaps, never "
            "zeros."
        ).format(days=figures.GRAINS["day"]),
        day_days=figures.GRAINS["day"],
        panels=list(chart_specs.PANELS),
        users_funnel=[lang.gettext(step) for step in users.FUNNEL],
        tables=[
            {"name": name, "title": table.title, "download": table.download}
            for name, table in tables.items()
            if name != "kpis"
        ],
        kpi_table=tables.get("kpis"),
        model=as_json(model),
    )
    order = [ALL_COMPANIES_ID, *chosen]
    return Dashboard(html, _headline_markdown(heads, order, lang), first, last, len(missing))
