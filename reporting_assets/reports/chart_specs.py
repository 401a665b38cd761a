"""The dashboard's charts: the figures each trend panel shows, their Vega-Lite specs (over named data that
`dashboard.js` fills), and the Vega runtime inlined in the page."""

from __future__ import annotations

import functools
import subprocess
import sys

from reporting_assets.i18n import N_, NP_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.reports.figures import NEEDS_30_DAYS, PEOPLE

NO_DAY = N_("no day loaded yet")
CHART_FIGURES = {  # chart figure -> label, what it waits for while it has no point (messages), and its unit
    "user_queries_count": (N_("User queries"), NO_DAY, "count"),
    "model_responses_count": (N_("Model responses"), NO_DAY, "count"),
    "satisfaction_rate": (N_("Satisfaction rate"), N_("no likes or dislikes given yet"), "rate"),
    "feedback_rate": (N_("Feedback rate"), N_("no model responses yet"), "rate"),
    "sessions_count": (N_("Sessions"), NO_DAY, "count"),
    PEOPLE: (
        N_("Active users in the period"),
        N_("no day loaded yet, or active_users_by_period not materialized yet"),
        "people",
    ),
    "active_users_7d": (N_("Active users (7 days)"), N_("needs 7 loaded days in a row"), "people"),
    "active_users_30d": (N_("Active users (30 days)"), NEEDS_30_DAYS, "people"),
    "stickiness": (N_("Stickiness (DAU / MAU)"), NEEDS_30_DAYS, "rate"),
    "adoption_rate": (
        N_("Adoption (30-day actives / members)"),
        N_(
            "needs 30 loaded days in a row, and no members recorded yet: they are recorded from the first daily "
            "refresh on"
        ),
        "rate",
    ),
}
DAY_MS = 86_400_000
PANELS = {  # title (a message) -> figures, their unit: one unit a panel, so one axis means one thing
    N_("Request volume"): (("user_queries_count", "model_responses_count"), "count"),
    N_("Satisfaction"): (("satisfaction_rate", "feedback_rate"), "rate"),
    N_("Sessions"): (("sessions_count",), "count"),
    N_("Active users"): ((PEOPLE, "active_users_7d", "active_users_30d"), "people"),
    N_("Engagement"): (("stickiness", "adoption_rate"), "rate"),
}
# A period not wholly loaded (the one in progress among them), on hover: messages of the page
IN_PROGRESS = NP_("in progress: {loaded} of {days} day", "in progress: {loaded} of {days} days")
SHORT = NP_("{loaded} of {days} day loaded", "{loaded} of {days} days loaded")


def chart_figure(key: str, lang: Language) -> tuple[str, str]:
    """The label of chart figure `key` and what it waits for, in `lang`."""
    label, why, _ = CHART_FIGURES[key]
    return lang.gettext(label), lang.gettext(why)


def panel_specs(lang: Language) -> list[dict]:
    """One Vega-Lite spec per panel of `PANELS` (see `line_spec`), in `lang`."""
    return [
        line_spec(lang.gettext(title), [chart_figure(k, lang)[0] for k in keys], unit, lang)
        for title, (keys, unit) in PANELS.items()
    ]


FORMATS = {"rate": (".0%", ".1%"), "decimal": (",.2~f", ",.2f")}  # unit -> the axis's and the tooltip's format


def line_spec(title: str, labels: list[str], unit: str, lang: Language) -> dict:
    """A trend panel's Vega-Lite spec over the named data that dashboard.js fills for the chosen range and grain:
    `points` (t, figure, value, solid, partial, note) and `dashes` (t, figure, value, segment). A solid line with a
    dot through the wholly loaded points; a period not wholly loaded (the one in progress among them) drawn apart, as
    a hollow point joined to its neighbours by a dashed segment, its note on hover. The time axis is ticked at the
    grain (signals `grain` and `step`, set by dashboard.js), labelled in `lang` (vega-embed's time locale). `unit`:
    rate, decimal, or a count (count, people)."""
    import altair as alt  # on use: Altair costs every process that loads the code location

    day = "%b %d" if lang.code == "en" else "%d %b"  # "Mar 03", "03 mars"
    grain, step = alt.param(name="grain", value="day"), alt.param(name="step", value=7)
    label = f"timeFormat(datum.value, grain === 'month' ? '%b %Y' : '{day}')"
    ticks = alt.ExprRef("{interval: grain === 'day' ? 'day' : grain, step: step}")
    time_axis = alt.Axis(labelOverlap=True, labelExpr=label, tickCount=ticks)
    fmt, tip = FORMATS.get(unit, (",d", ",.1f"))
    x = alt.X("t:T", title=None, scale=alt.Scale(type="utc"), axis=time_axis)
    color = alt.Color("figure:N", scale=alt.Scale(domain=labels), legend=alt.Legend(orient="top", title=None))
    y = alt.Y("value:Q", title=None, axis=alt.Axis(format=fmt))
    tooltip = [
        alt.Tooltip("t:T", timeUnit="utcyearmonthdate", title=lang.gettext("date")),
        alt.Tooltip("figure:N"),
        alt.Tooltip("value:Q", format=tip),
        alt.Tooltip("note:N", title=lang.gettext("days loaded")),
    ]
    points = alt.Chart(alt.Data(name="points"))
    solid = points.mark_line(invalid="break-paths-show-domains", point=alt.OverlayMarkDef(size=12)).encode(
        x=x, y=alt.Y("solid:Q", title=None, axis=alt.Axis(format=fmt)), color=color, tooltip=tooltip
    )
    rings = points.mark_point(size=70, filled=False, opacity=1).encode(x=x, y=y, color=color, tooltip=tooltip)
    dashed = alt.Chart(alt.Data(name="dashes")).mark_line(strokeDash=[4, 3]).encode(x=x, y=y, color=color,
                                                                                    detail="segment:N")  # fmt: skip
    chart = (
        alt.layer(solid, dashed, rings.transform_filter("datum.partial"))
        .add_params(grain, step)
        # the axes' room is measured again when dashboard.js swaps the data in
        .properties(title=title, width=900, height=170, autosize=alt.AutoSizeParams(type="pad", resize=True))
        .configure_view(stroke=None)
    )
    return chart.to_dict()


def user_specs(lang: Language) -> dict[str, dict]:
    """The Users section's charts: new and newly dormant users per month (data `months`: month, kind, users), and
    the cohort heatmap (data `cohorts`: cohort, offset, rate, retained, size), filled by dashboard.js."""
    import altair as alt

    kinds = [lang.gettext("new"), lang.gettext("newly dormant")]  # what dashboard.js names the bars
    months = (
        alt.Chart(alt.Data(name="months"))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            xOffset=alt.XOffset("kind:N", sort=kinds),
            y=alt.Y("users:Q", title=None, axis=alt.Axis(format=",d")),
            color=alt.Color("kind:N", sort=kinds, legend=alt.Legend(orient="top", title=None)),
            tooltip=["month:O", "kind:N", alt.Tooltip("users:Q", format=",d")],
        )
        .properties(title=lang.gettext("New and newly dormant users per month"), width=900, height=170)
        .configure_view(stroke=None)
    )
    base = alt.Chart(alt.Data(name="cohorts")).encode(
        x=alt.X("offset:O", title=lang.gettext("months after the first")),
        y=alt.Y("cohort:O", title=lang.gettext("cohort (month first active)")),
    )
    tooltip = ["cohort:O", "offset:O", alt.Tooltip("rate:Q", format=".0%"), "retained:Q", "size:Q"]
    heatmap = (
        alt.layer(
            base.mark_rect().encode(
                color=alt.Color(
                    "rate:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title=lang.gettext("retained")
                ),
                tooltip=tooltip,
            ),
            base.mark_text(fontSize=10).encode(
                text=alt.Text("rate:Q", format=".0%"),
                color=alt.condition(alt.datum.rate > 0.6, alt.value("white"), alt.value("black")),
            ),
        )
        .properties(title=lang.gettext("Retention by cohort"), width=600, height=280)
        .configure_view(stroke=None)
    )
    return {"months": months.to_dict(), "cohorts": heatmap.to_dict()}


BUNDLE = (
    "import sys, vl_convert\n"
    "from altair.utils.html import vl_version_for_vl_convert\n"
    "sys.stdout.write(vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert()))\n"
)


@functools.cache
def vega_bundle() -> str:
    """vega-embed with Vega and Vega-Lite as one script, made by vl-convert in a child process: its embedded Deno
    runtime takes about 180 MB, given back when the child exits, before the render reads any data. Made once per
    process (0.9 MB, about 3 s)."""
    child = subprocess.run([sys.executable, "-c", BUNDLE], capture_output=True, text=True, check=False)  # noqa: S603
    if child.returncode or not child.stdout:
        raise RuntimeError(f"vl-convert could not make the Vega bundle: {child.stderr.strip()[-500:]}")
    return child.stdout


def compact(values: pd.Series) -> list[float | int | None]:
    """A chart series as short JSON: null for a gap, whole numbers without ".0"."""
    return [None if v != v else int(v) if v == int(v) else v for v in values.tolist()]
