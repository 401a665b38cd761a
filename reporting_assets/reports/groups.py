"""The dashboard's "Groups side by side" (REPORTING_ORG_DATA): for the picked company and an org attribute, one row
per group of `group_activity` (already suppressed: no group below REPORTING_MIN_GROUP_SIZE reaches the page) with
its headcount on the last loaded day, its active users in the last whole month against the month before, its
adoption and sessions per active user, its users per engagement segment (`group_segments`), and a trend of its
active users at each grain (the last `TREND` periods)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, and_, or_, select

from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import change
from reporting_assets.reports import page_tables
from reporting_assets.reports.page_model import Groups
from reporting_assets.warehouse.tables import (
    GROUP_GRAINS,
    SEGMENT_COLUMNS,
    group_activity,
    group_segments,
    org_data_file,
)

TREND = 12  # periods of each grain in a row's trend
NO_GROUPS = N_("No group figures: set REPORTING_ORG_DATA to your org file and materialize group_activity.")
UNDATED = N_("The org file has no valid_from: each person's current group applies to all of history, moves included.")


def _month_shown(last: date) -> date:
    """The last whole month up to `last`: its own when `last` ends it, else the one before."""
    start = last.replace(day=1)
    return start if (last + timedelta(days=1)).day == 1 else (start - timedelta(days=1)).replace(day=1)


def _read(engine: Engine, companies: list[int], last: date) -> tuple[pd.DataFrame, bool | None]:
    """The rows the section shows: each grain's last `TREND` periods, and the months it compares."""
    g = group_activity
    since = {
        "day": last - timedelta(days=TREND - 1),
        "week": last - timedelta(days=7 * TREND),
        "month": min(
            (pd.Timestamp(last) - pd.DateOffset(months=TREND)).date(), _month_shown(last) - timedelta(days=31)
        ),
    }
    recent = or_(*(and_(g.c.grain == grain, g.c.period_start >= day) for grain, day in since.items()))
    columns = ["company_id", "attribute", "group_name", "grain", "period_start", "headcount", "active_users",
               "sessions_count"]  # fmt: skip
    query = select(*(g.c[c] for c in columns)).where(g.c.company_id.in_(companies), recent)
    with engine.connect() as conn:
        rows = conn.execute(query)
        frame = pd.DataFrame(map(tuple, rows), columns=columns)
        dated = conn.execute(select(org_data_file.c.dated)).scalar()
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    return frame.astype({"attribute": "category", "grain": "category"}), dated


def section(engine: Engine, companies: list[int], last: date, lang: Language) -> Groups:
    """The section for the picker's `companies` (all companies aside) as of the last loaded day `last`."""
    month = pd.Timestamp(_month_shown(last))
    before = month - pd.DateOffset(months=1)
    frame, dated = _read(engine, companies, last)
    with engine.connect() as conn:
        segments = pd.read_sql(select(group_segments).where(group_segments.c.company_id.in_(companies)), conn)
    label = lang.month(month.date())
    columns = [
        ("company_id", N_("Company id"), ""), ("attribute", N_("Attribute"), ""), ("group", N_("Group"), "text"),
        ("headcount", N_("Headcount"), "count"),
        ("active_users", lang.gettext("Active users, {month}").format(month=label), "count"),
        ("active_users_change", N_("vs the month before"), "change"), ("adoption_rate", N_("Adoption"), "rate"),
        ("sessions_per_active_user", N_("Sessions per active user"), "number"),
        *((c, c.removesuffix("_users"), "count") for c in SEGMENT_COLUMNS),  # the segments' names, as translated
    ]  # fmt: skip
    if frame.empty:
        return Groups([], page_tables.column_specs(columns, lang), [], {}, lang.gettext(NO_GROUPS), "")
    key = ["company_id", "attribute", "group_name"]
    days = frame[frame["grain"] == "day"]
    heads = days[days["period_start"] == days.groupby("company_id")["period_start"].transform("max")]
    months = frame[frame["grain"] == "month"].set_index([*key, "period_start"])
    now = months.xs(month, level="period_start") if month in months.index.get_level_values(3) else months.iloc[:0]
    then = months.xs(before, level="period_start") if before in months.index.get_level_values(3) else months.iloc[:0]
    rows = heads.set_index(key)[["headcount"]].join(now[["active_users", "sessions_count"]], how="outer")
    rows = rows.join(then["active_users"].rename("before"), how="left")
    rows = rows.join(segments.set_index(key)[list(SEGMENT_COLUMNS)], how="left").reset_index()
    rows = rows.sort_values(["company_id", "attribute", "headcount"], ascending=[True, True, False])
    trends = {}
    for grain in GROUP_GRAINS:
        mine = frame[frame["grain"] == grain]
        points = mine.pivot_table("active_users", key, "period_start", aggfunc="sum", observed=True).iloc[:, -TREND:]
        points = points.reindex(pd.MultiIndex.from_frame(rows[key]))
        trends[grain] = [[None if pd.isna(v) else int(v) for v in row] for row in points.to_numpy()]
    out = []
    for r in rows.itertuples(index=False):
        active = None if pd.isna(r.active_users) else int(r.active_users)
        headcount = None if pd.isna(r.headcount) else int(r.headcount)
        delta = None if active is None or pd.isna(r.before) else change(active, float(r.before), False)
        out.append([
            int(r.company_id), r.attribute, r.group_name, headcount, active,
            None if delta is None else round(delta, 4),
            round(active / headcount, 4) if active is not None and headcount else None,
            round(r.sessions_count / active, 2) if active else None,
            *(None if pd.isna(v) else int(v) for v in (getattr(r, c) for c in SEGMENT_COLUMNS)),
        ])  # fmt: skip
    return Groups(
        attributes=sorted(rows["attribute"].unique().tolist()),
        columns=page_tables.column_specs(columns, lang),
        rows=out,
        trend=trends,
        why="",
        note="" if dated is None or dated else lang.gettext(UNDATED),
    )
