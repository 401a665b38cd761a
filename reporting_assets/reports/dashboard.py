"""The usage dashboard: one self-contained HTML page (Vega-Lite charts through Altair, the Vega runtime inlined
by vl-convert, tables in plain HTML) that opens from disk on a machine without network.

Charts cover the whole loaded history with a company selector and a shared zoom (drag to pan, wheel to zoom,
double-click to reset); a day that was not loaded is a break in the line, never a zero.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, or_, select

from reporting_assets.lazy import pandas as pd
from reporting_assets.reports import figures
from reporting_assets.reports.figures import ALL
from reporting_assets.warehouse.tables import alert_events

FILE_NAME = "usage_dashboard.html"
WEEKS_SHOWN = 12
PANELS = {  # title -> {column of figures.daily: label}, y-axis format
    "Request volume": ({"user_queries_count": "User queries", "model_responses_count": "Model responses",
                        "user_queries_7d_avg": "User queries, 7-day average"}, ",d"),
    "Satisfaction": ({"satisfaction_rate": "Satisfaction rate", "satisfaction_rate_7d": "Satisfaction rate, 7 days",
                      "feedback_rate": "Feedback rate"}, ".0%"),
    "Sessions and active users": ({"sessions_count": "Sessions", "active_users": "Active users (day)",
                                   "active_users_7d": "Active users (7 days)",
                                   "active_users_30d": "Active users (30 days)"}, ",d"),
    "Engagement": ({"stickiness": "Stickiness (DAU / MAU)", "adoption_rate": "Adoption (30-day actives / members)"},
                   ".0%"),
}  # fmt: skip


@dataclass(frozen=True)
class Dashboard:
    html: str
    headline: str  # Markdown: the last 7 loaded days per company
    first: date | None
    last: date | None
    missing_days: int  # days of first..last not loaded (for every company)


def _pct(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.1%}"


def _int(value: float) -> str:
    return "–" if pd.isna(value) else f"{int(value):,}"


def _change(value: float, before: float) -> str:
    if pd.isna(before):
        return "–"  # the days before are not all loaded: unknown
    return "new" if before == 0 else f"{value:+.0%}"


def _table(columns: list[str], rows: list[list[str]], attrs: str = "", row_attrs: list[str] | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr {row_attrs[i] if row_attrs else ''}>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table {attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>" if rows else "<p>None.</p>"


def _ranges(days: list[date]) -> str:
    """`2025-03-01..2025-03-04, 2025-03-09` from sorted days."""
    spans: list[list[date]] = []
    for day in days:
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in spans)


def _charts(days: pd.DataFrame, companies: list[str]):
    import altair as alt  # on use: Altair costs every process that loads the code location

    columns = {c: label for fields, _ in PANELS.values() for c, label in fields.items()}
    data = days[["date", "company", *columns]].rename(columns=columns)
    data["date"] = data["date"].dt.strftime("%Y-%m-%d")
    company = alt.param(name="company", value=ALL, bind=alt.binding_select(options=companies, name="Company "))
    zoom = alt.selection_interval(name="zoom", bind="scales", encodings=["x"])
    base = alt.Chart(data).transform_filter(alt.datum.company == company)
    panels = []
    for title, (fields, fmt) in PANELS.items():
        labels = list(fields.values())
        panels.append(
            base.transform_fold(labels, as_=["figure", "value"])
            .mark_line(invalid="break-paths-show-domains", point=alt.OverlayMarkDef(size=10))
            .encode(
                x=alt.X("date:T", title=None),
                y=alt.Y("value:Q", title=None, axis=alt.Axis(format=fmt)),
                color=alt.Color(
                    "figure:N", scale=alt.Scale(domain=labels), legend=alt.Legend(orient="top", title=None)
                ),
                tooltip=[alt.Tooltip("date:T"), "figure:N", alt.Tooltip("value:Q", format=fmt.replace("d", "f"))],
            )
            .properties(title=title, width=900, height=170)
            .add_params(zoom)
        )
    return alt.vconcat(*panels).add_params(company).resolve_scale(color="independent").configure_view(stroke=None)


def _weekly_tables(days: pd.DataFrame) -> dict[int, str]:
    weeks = figures.weekly(days)
    out = {}
    for company_id, rows in weeks.groupby("company_id"):
        rows = rows.tail(WEEKS_SHOWN).iloc[::-1]
        cells = [
            [w, _int(s), _int(q), _pct(r), _int(u), _pct(a), f"{int(n)}/7", m]
            for w, s, q, r, u, a, n, m in zip(
                rows["week"], rows["sessions_count"], rows["user_queries_count"], rows["satisfaction_rate"],
                rows["active_users"], rows["adoption_rate"], rows["days_loaded"], rows["missing"], strict=True,
            )
        ]  # fmt: skip
        columns = ["Week", "Sessions", "User queries", "Satisfaction", "Active users", "Adoption", "Loaded", "Missing"]
        attrs = f'class="weekly" data-company="{html.escape(str(rows["company"].iloc[0]))}"'
        out[int(company_id)] = _table(columns, cells, attrs, [f'data-week="{w}"' for w in rows["week"]])
    return out


def _top_tables(top: pd.DataFrame) -> dict[int, str]:
    out = {}
    for company_id, rows in top.groupby("company_id"):
        parts = []
        for kind, label in (("tool", "Top tools"), ("document", "Top documents")):
            of = rows[rows["resource_type"] == kind]
            cells = [
                [str(n), _int(u), _int(b), _change(c, b)]
                for n, u, b, c in zip(of["resource_name"], of["uses"], of["uses_before"], of["change"], strict=True)
            ]
            parts.append(
                f"<h4>{label}, last 30 days</h4>" + _table([kind.title(), "Uses", "30 days before", "Change"], cells)
            )
        out[int(company_id)] = '<div class="top">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"
    return out


def _alerts(engine: Engine, last: date) -> str:
    recent = or_(alert_events.c.status != "resolved", alert_events.c.resolved_at >= last - timedelta(days=30))
    columns = ["status", "severity", "rule_name", "company_name", "started_at", "resolved_at", "value", "threshold"]
    query = select(*(alert_events.c[c] for c in columns)).where(recent).order_by(alert_events.c.started_at.desc())
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    cells = [
        [s, sev, rule, str(name or ""), str(start), str(end or ""), f"{v:.4g}" if v is not None else "–",
         f"{t:.4g}" if t is not None else "–"]
        for s, sev, rule, name, start, end, v, t in rows
    ]  # fmt: skip
    return _table(["Status", "Severity", "Rule", "Company", "Since", "Resolved", "Value", "Limit"], cells)


def headline(days: pd.DataFrame, last: date) -> str:
    """Markdown: the last 7 days (to `last`) per company, with how many of them were loaded."""
    week = days[days["date"] > pd.Timestamp(last - timedelta(days=7))]
    sums = week.groupby(["company_id", "company"])[["sessions_count", "user_queries_count", "likes_count",
                                                     "dislikes_count"]].sum(min_count=1)  # fmt: skip
    rows = []
    for (company_id, company), row in sums.iterrows():
        own = week[week["company_id"] == company_id]
        at_end = own.iloc[-1]
        rated = row["likes_count"] + row["dislikes_count"]
        rows.append({
            "company": company,
            "sessions": _int(row["sessions_count"]),
            "user queries": _int(row["user_queries_count"]),
            "satisfaction": _pct(row["likes_count"] / rated if rated else float("nan")),
            "active users (7 d)": _int(at_end["active_users_7d"]),
            "adoption": _pct(at_end["adoption_rate"]),
            "days loaded": f"{int(own['loaded'].sum())}/{len(own)}",
        })  # fmt: skip
    return pd.DataFrame(rows).to_markdown(index=False) if rows else "_no data loaded yet_"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 0; } .meta { color: #666; margin-top: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.top { display: flex; gap: 32px; } .note { background: #fff6e0; padding: 6px 10px; border-radius: 4px; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
"""


def render(engine: Engine, now: datetime) -> Dashboard:
    """The dashboard over the whole loaded history, as of `now`."""
    span = figures.loaded_range(engine)
    if span is None:
        page = f"<h1>Paradigm usage</h1><p>No data loaded yet ({now:%Y-%m-%d %H:%M} UTC).</p>"
        return Dashboard(f"<!DOCTYPE html><html><body>{page}</body></html>", "_no data loaded yet_", None, None, 0)
    first, last = span
    days = figures.daily(engine, first, last)
    totals = days[days["company_id"] == 0]
    missing = [d.date() for d in totals.loc[~totals["loaded"], "date"]]
    companies = [ALL, *sorted(set(days["company"]) - {ALL})]
    with warnings.catch_warnings():  # one zoom shared by the panels is what we want: Altair says it merged it
        warnings.filterwarnings("ignore", "Automatically deduplicated selection parameter", UserWarning)
        chart = _charts(days, companies).to_html(inline=True, embed_options={"renderer": "svg", "actions": False})
    weekly, top = _weekly_tables(days), _top_tables(figures.top_resources(engine, last))
    sections = "".join(
        f"<details {'open' if company_id == 0 else ''}><summary>{html.escape(str(name))}</summary>"
        f"<h4>By ISO week (last {WEEKS_SHOWN})</h4>{weekly.get(company_id, '')}{top.get(company_id, '<p>No uses.</p>')}"
        "</details>"
        for company_id, name in days[["company_id", "company"]].drop_duplicates().itertuples(index=False)
    )
    gaps = (
        f'<p class="note" id="missing-days">Not loaded ({len(missing)} days, shown as gaps): {_ranges(missing)}</p>'
        if missing
        else '<p id="missing-days">Every day of this range is loaded.</p>'
    )
    header = (
        f"<style>{STYLE}</style><h1>Paradigm usage</h1>"
        f'<p class="meta">{first} to {last} · generated {now:%Y-%m-%d %H:%M} UTC</p>{gaps}'
        "<p class=meta>Drag a chart to pan, scroll to zoom, double-click to reset; pick a company above them.</p>"
    )
    body = (
        f"<h2>Figures per company</h2>{sections}<h2>Open and recent alerts (last 30 days)</h2>{_alerts(engine, last)}"
    )
    anchor, charset = '<div class="vega-visualization" id="vis"></div>', '<meta charset="UTF-8">'
    if chart.count(anchor) != 1 or not chart.startswith("<!DOCTYPE html>") or charset not in chart[:200]:
        raise RuntimeError("Altair's HTML template changed: cannot place the dashboard's sections")
    page = chart.replace(anchor, header + anchor + body).replace(charset, charset + "<title>Paradigm usage</title>", 1)
    return Dashboard(page, headline(days, last), first, last, len(missing))
