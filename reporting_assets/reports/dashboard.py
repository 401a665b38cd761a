"""The usage dashboard: one self-contained HTML page that opens from disk on a machine without network.

Sized by what a reader takes in, not by the instance: headline figures against the period before, four trend
panels whose points are bounded (each day of the last 90, then weeks, then months), a searchable company picker
(the most active `MAX_COMPANIES`), and tables with CSV downloads. `figures.py` computes the model once; this
module lays it out in the `dashboard.html.j2` template (Jinja2, autoescaped), with `dashboard.js` for the picker,
the charts (Vega-Lite through the inlined vega-embed bundle of vl-convert) and the downloads.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources

from sqlalchemy import Engine

from reporting_assets.alerts import state
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, ALL_COMPANIES_ID, RATIOS
from reporting_assets.neutralise import markdown_table, plain
from reporting_assets.reports import compare, figures, users
from reporting_assets.reports.figures import NEEDS_30_DAYS, change_text, value_text

FILE_NAME = "usage_dashboard.html"
WEEKS_SHOWN = 12
DAILY_DAYS = 90  # daily chart points; weeks, then months, before
MAX_COMPANIES = 250  # in the picker (the most active over the last 90 days): the page stays bounded
SHOWN_ROWS = 100  # rows of a table in the page; its CSV holds them all
CHART_FIGURES = {  # chart figure -> label, and what it waits for while it has no point
    "user_queries_count": ("User queries", "no day loaded yet"),
    "model_responses_count": ("Model responses", "no day loaded yet"),
    "satisfaction_rate": ("Satisfaction rate", "no likes or dislikes given yet"),
    "feedback_rate": ("Feedback rate", "no model responses yet"),
    "sessions_count": ("Sessions", "no day loaded yet"),
    "active_users": ("Active users (day)", "no day loaded yet"),
    "active_users_7d": ("Active users (7 days)", "needs 7 loaded days in a row"),
    "active_users_30d": ("Active users (30 days)", NEEDS_30_DAYS),
    "stickiness": ("Stickiness (DAU / MAU)", NEEDS_30_DAYS),
    "adoption_rate": ("Adoption (30-day actives / members)", f"{NEEDS_30_DAYS}, and {figures.NO_MEMBERS}"),
}
PANELS = {  # title -> figures, kind
    "Request volume": (("user_queries_count", "model_responses_count"), "count"),
    "Satisfaction": (("satisfaction_rate", "feedback_rate"), "rate"),
    "Sessions and active users": (("sessions_count", "active_users", "active_users_7d", "active_users_30d"), "count"),
    "Engagement": (("stickiness", "adoption_rate"), "rate"),
}


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


def _axis(first: date, last: date) -> tuple[str, str]:
    """Time ticks on day, week or month boundaries only, by the span shown."""
    span = (last - first).days
    return ("day", "%b %d") if span <= 45 else ("week", "%b %d") if span <= 240 else ("month", "%b %Y")


def _specs(first: date, last: date) -> list[dict]:
    """One Vega-Lite spec per panel over the named data `points` (t, figure, value) that dashboard.js fills."""
    import altair as alt  # on use: Altair costs every process that loads the code location

    interval, label_format = _axis(first, last)
    specs = []
    for title, (keys, kind) in PANELS.items():
        labels = [CHART_FIGURES[k][0] for k in keys]
        fmt = ".0%" if kind == "rate" else ",d"
        chart = (
            alt.Chart(alt.Data(name="points"))
            .mark_line(invalid="break-paths-show-domains", point=alt.OverlayMarkDef(size=12))
            .encode(
                x=alt.X(
                    "t:T",
                    title=None,
                    scale=alt.Scale(type="utc"),
                    axis=alt.Axis(tickCount={"interval": interval, "step": 1}, format=label_format, labelOverlap=True),
                ),
                y=alt.Y("value:Q", title=None, axis=alt.Axis(format=fmt)),
                color=alt.Color(
                    "figure:N", scale=alt.Scale(domain=labels), legend=alt.Legend(orient="top", title=None)
                ),
                tooltip=[
                    alt.Tooltip("t:T", timeUnit="utcyearmonthdate", title="date"),
                    alt.Tooltip("figure:N"),
                    alt.Tooltip("value:Q", format=".1%" if kind == "rate" else ",.1f"),
                ],
            )
            # the axes' room is measured again when dashboard.js swaps the data in
            .properties(title=title, width=900, height=170, autosize=alt.AutoSizeParams(type="pad", resize=True))
            .configure_view(stroke=None)
        )
        specs.append(chart.to_dict())
    return specs


def _user_specs() -> dict[str, dict]:
    """The Users section's charts: new and newly dormant users per month (data `months`: month, kind, users), and
    the cohort heatmap (data `cohorts`: cohort, offset, rate, retained, size), filled by dashboard.js."""
    import altair as alt

    months = (
        alt.Chart(alt.Data(name="months"))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            xOffset=alt.XOffset("kind:N", sort=["new", "newly dormant"]),
            y=alt.Y("users:Q", title=None, axis=alt.Axis(format=",d")),
            color=alt.Color("kind:N", sort=["new", "newly dormant"], legend=alt.Legend(orient="top", title=None)),
            tooltip=["month:O", "kind:N", alt.Tooltip("users:Q", format=",d")],
        )
        .properties(title="New and newly dormant users per month", width=900, height=170)
        .configure_view(stroke=None)
    )
    base = alt.Chart(alt.Data(name="cohorts")).encode(
        x=alt.X("offset:O", title="months after the first"),
        y=alt.Y("cohort:O", title="cohort (month first active)"),
    )
    tooltip = ["cohort:O", "offset:O", alt.Tooltip("rate:Q", format=".0%"), "retained:Q", "size:Q"]
    heatmap = (
        alt.layer(
            base.mark_rect().encode(
                color=alt.Color("rate:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="retained"),
                tooltip=tooltip,
            ),
            base.mark_text(fontSize=10).encode(
                text=alt.Text("rate:Q", format=".0%"),
                color=alt.condition(alt.datum.rate > 0.6, alt.value("white"), alt.value("black")),
            ),
        )
        .properties(title="Retention by cohort", width=600, height=280)
        .configure_view(stroke=None)
    )
    return {"months": months.to_dict(), "cohorts": heatmap.to_dict()}


def _users(engine: Engine, chosen: list[int], last: date, lists: bool) -> tuple[dict, dict[str, dict]]:
    """The Users section's model (per company) and its two tables (none without `lists`)."""
    section = users.section(engine, chosen, last, lists)
    tables = {}
    for name, title, download, empty in (
        ("top_users", "Most engaged users", "every listed user", "No per-user data yet."),
        ("dormant_users", "Users gone dormant most recently", "every listed dormant user", "No dormant user."),
    )[: 2 if lists else 0]:
        rows, left = section["tables"].pop(name)
        note = f"; {left:,} more in the warehouse table user_engagement" if left else ""
        tables[name] = _table(title, download + note, users.USER_COLUMNS, rows, all=True, empty=empty)
    del section["tables"]
    section["specs"] = _user_specs()
    section["why"] = users.NO_USERS
    return section, tables


def _values(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """Rows as JSON values: NaN becomes null (shown "–", an empty CSV cell), numpy numbers plain numbers."""
    out = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [[v.item() if hasattr(v, "item") else v for v in row] for row in out.itertuples(index=False)]


def _compact(values: pd.Series) -> list[float | int | None]:
    """A chart series as short JSON: null for a gap, whole numbers without ".0"."""
    return [None if v != v else int(v) if v == int(v) else v for v in values.tolist()]


def _columns(columns: list[tuple[str, str, str]]) -> list[dict]:
    """Columns of a table of the page: (key, label, kind); kind "" = in the CSV only."""
    return [{"key": k, "label": label, "kind": kind or "text", "hidden": not kind} for k, label, kind in columns]


def _table(title: str, download: str, columns: list[tuple[str, str, str]], rows: list[list], **options) -> dict:
    """A table of the page: columns (key, label, kind; kind "" = in the CSV only), rows whose first value is the
    company id the picker filters on."""
    return {
        "title": title,
        "download": download,
        "columns": _columns(columns),
        "rows": rows,
        "limit": SHOWN_ROWS,
        "all": False,  # True: "All companies" shows every company's rows
        "empty": "None.",
        **options,
    }


def _weekly(days: pd.DataFrame) -> dict:
    weeks = figures.weekly(days).groupby("company_id").tail(WEEKS_SHOWN)
    weeks = weeks.sort_values(["company_id", "week"], ascending=[True, False])
    columns = [
        ("company_id", "Company id", ""), ("company", "Company", ""), ("week", "Week", "text"),
        ("sessions_count", "Sessions", "count"), ("user_queries_count", "User queries", "count"),
        ("satisfaction_rate", "Satisfaction", "rate"), ("active_users", "Active users (week)", "count"),
        ("adoption_rate", "Adoption", "rate"), ("days_loaded", "Days loaded (of 7)", "count"),
        ("missing", "Days not loaded", "text"),
    ]  # fmt: skip
    rows = _values(weeks, [c[0] for c in columns])
    return _table(f"By ISO week (last {WEEKS_SHOWN})", "the weekly table of every company", columns, rows)


def _top(top: pd.DataFrame) -> dict:
    columns = [
        ("company_id", "Company id", ""), ("company", "Company", ""), ("resource_type", "Type", "text"),
        ("resource_name", "Tool or document", "text"), ("uses", "Uses, last 30 days", "count"),
        ("uses_before", "30 days before", "count"), ("change", "Change", "rate"),
    ]  # fmt: skip
    return _table(
        "Top tools and documents, last 30 days",
        "top tools and documents",
        columns,
        _values(top, [c[0] for c in columns]),
    )


def _alerts(frame: pd.DataFrame) -> dict:
    """The alerts of `state.for_reports`."""
    columns = [
        ("company_id", "Company id", ""), ("status", "Status", "text"), ("severity", "Severity", "text"),
        ("rule_name", "Rule", "text"), ("company_name", "Company", "text"), ("started_at", "Since", "text"),
        ("resolved_at", "Resolved", "text"), ("value", "Value", "number"), ("threshold", "Limit", "number"),
    ]  # fmt: skip
    frame = frame.copy()
    for day in ("started_at", "resolved_at"):
        frame[day] = frame[day].map(lambda d: "" if d is None or pd.isna(d) else str(d)[:10])
    rows = _values(frame, [c[0] for c in columns])
    return _table(
        "Open and recent alerts (last 30 days)", "the open and recent alerts", columns, rows, all=True,
        empty="No alert open or resolved in the last 30 days.",
    )  # fmt: skip


def _headline_markdown(heads: dict[int, figures.Headline], order: list[int], most: int = 20) -> str:
    rows = []
    for company_id in order[: most + 1]:
        head = heads[company_id]
        rows.append({"company": head.company, **{f.label: value_text(f) for f in head.figures}})
    return markdown_table(pd.DataFrame(rows))


BUNDLE = (
    "import sys, vl_convert\n"
    "from altair.utils.html import vl_version_for_vl_convert\n"
    "sys.stdout.write(vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert()))\n"
)


def vega_bundle() -> str:
    """vega-embed with Vega and Vega-Lite as one script, made by vl-convert in a child process: its embedded Deno
    runtime takes about 180 MB, given back when the child exits, before the render reads any data."""
    child = subprocess.run([sys.executable, "-c", BUNDLE], capture_output=True, text=True, check=False)  # noqa: S603
    if child.returncode or not child.stdout:
        raise RuntimeError(f"vl-convert could not make the Vega bundle: {child.stderr.strip()[-500:]}")
    return child.stdout


def render(engine: Engine, now: datetime, user_lists: bool = True) -> Dashboard:
    """The dashboard over the whole loaded history, as of `now`; per-user lists only with `user_lists`
    (`REPORTING_USER_LISTS`: the aggregates of the Users section stay either way)."""
    import jinja2
    from altair.utils.html import vl_version_for_vl_convert
    from markupsafe import Markup

    span = figures.loaded_range(engine)
    environment = jinja2.Environment(autoescape=True)
    environment.policies["json.dumps_kwargs"] = {"allow_nan": False}  # a NaN would be invalid JSON: fail here
    template = environment.from_string(
        resources.files(__package__).joinpath("dashboard.html.j2").read_text(encoding="utf-8")
    )
    if span is None:
        page = (
            "<!DOCTYPE html><html><head><meta charset='UTF-8'><title>Paradigm usage</title></head><body>"
            f"<h1>Paradigm usage</h1><p>No data loaded yet ({now:%Y-%m-%d %H:%M} UTC): run a backfill, or wait for "
            "the daily refresh.</p></body></html>"
        )
        return Dashboard(page, "_no data loaded yet_", None, None, 0)
    first, last = span
    vega_script = vega_bundle()
    days = figures.daily(engine, first, last)
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
        {
            "id": int(cid),
            "name": str(names[cid]),  # as stored: the CSVs hold it whole
            "title": plain(names[cid]),  # one line, cut: headings
            # the picker's text: one line (an input drops line breaks, so a name holding one could not be picked)
            "label": ALL_COMPANIES if cid == ALL_COMPANIES_ID else f"{plain(names[cid]).strip()} ({cid})",
            "series": {p: _compact(series[cid][p]) for p in figures.PARTS},
            "headline": [{"value": value_text(f), "change": change_text(f), "why": f.why} for f in heads[cid].figures],
        }
        for cid in ordered
    ]
    rates = [name for name, r in RATIOS.items() if all(p in figures.PARTS for p in r.parts)]
    people, user_tables = _users(engine, chosen, last, user_lists)
    alerts = state.for_reports(engine, last - timedelta(days=30))
    tables = {
        "weekly": _weekly(kept),
        "top": _top(figures.top_resources(engine, last)),
        "alerts": _alerts(alerts),
        **user_tables,
    }
    labels = {c["id"]: c["label"] for c in companies if c["id"] != ALL_COMPANIES_ID}
    side_by_side = compare.side_by_side(heads, labels, kept, alerts, WEEKS_SHOWN)
    model = {
        "t": [str(d.date()) for d in t],
        "daily_from": sum(d < pd.Timestamp(last - timedelta(days=DAILY_DAYS - 1)) for d in t),
        "ratios": {name: [RATIOS[name].numerator, RATIOS[name].denominator] for name in rates},
        "daily_columns": [*figures.PARTS, *rates],
        "panels": [
            {
                "title": title,
                "figures": [{"key": k, "label": CHART_FIGURES[k][0], "why": CHART_FIGURES[k][1]} for k in keys],
            }
            for title, (keys, _) in PANELS.items()
        ],
        "specs": _specs(first, last),
        "all_id": ALL_COMPANIES_ID,
        "companies": companies,
        "compare": {"columns": _columns(compare.COLUMNS), **side_by_side},
        "tables": tables,
        "users": people,
    }
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
        picker=[c["label"] for c in companies],
        headline=[
            {"label": f.label, "value": value_text(f), "change": change_text(f), "why": f.why}
            for f in heads[ALL_COMPANIES_ID].figures
        ],
        granularity=f"One point a day over the last {DAILY_DAYS} days, before that one a week (then one a month "
        "after two years): the average per loaded day. Days not loaded are gaps, never zeros.",
        panels=list(PANELS),
        users_funnel=users.FUNNEL,
        tables=[{"name": name, **{k: table[k] for k in ("title", "download")}} for name, table in tables.items()],
        model=model,
    )
    order = [ALL_COMPANIES_ID, *chosen]
    return Dashboard(html, _headline_markdown(heads, order), first, last, len(missing))
