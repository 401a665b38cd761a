"""The dashboard's "Groups side by side" (REPORTING_ORG_DATA): for the picked company and an org attribute, one row
per group of `group_segments` (already suppressed: no group below REPORTING_MIN_GROUP_SIZE reaches the page) with
its headcount, its active users over the 30 days ending on the picture's day against the 30 before, its adoption
and sessions per active user over those 30 days, its users per engagement segment, and a trend of its active users
at each grain (`group_activity`, the last `TREND` periods)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, and_, or_, select

from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import change
from reporting_assets.reports import page_tables
from reporting_assets.reports.page_model import Groups
from reporting_assets.warehouse import ledger
from reporting_assets.warehouse.tables import (
    GROUP_GRAINS,
    SEGMENT_COLUMNS,
    group_activity,
    group_segments,
    org_data_file,
    user_activities,
)

TREND = 12  # periods of each grain in a row's trend
NO_GROUPS = N_("No group figures: set REPORTING_ORG_DATA to your org file and materialize group_activity.")
UNDATED = N_("The org file has no valid_from: each person's current group applies to all of history, moves included.")
SHORT = N_("The 30-day figures are not known: {count} of the 30 days to {day} are loaded.")


def _trends(engine: Engine, companies: list[int], last: date) -> tuple[pd.DataFrame, bool | None]:
    """Each grain's last `TREND` periods of active users, and whether the org file is dated."""
    g = group_activity
    since = {
        "day": last - timedelta(days=TREND - 1),
        "week": last - timedelta(days=7 * TREND),
        "month": (pd.Timestamp(last) - pd.DateOffset(months=TREND)).date(),
    }
    recent = or_(*(and_(g.c.grain == grain, g.c.period_start >= day) for grain, day in since.items()))
    columns = ["company_id", "attribute", "group_name", "grain", "period_start", "active_users"]
    query = select(*(g.c[c] for c in columns)).where(g.c.company_id.in_(companies), recent)
    with engine.connect() as conn:
        rows = conn.execute(query)
        frame = pd.DataFrame(map(tuple, rows), columns=columns)
        dated = conn.execute(select(org_data_file.c.dated)).scalar()
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    return frame.astype({"attribute": "category", "grain": "category"}), dated


def _note(engine: Engine, segments: pd.DataFrame, dated: bool | None, lang: Language) -> str:
    """What the figures assume: an undated org file; a 30-day window not wholly loaded (and how much is)."""
    notes = [lang.gettext(UNDATED)] if dated is False else []
    if len(segments) and segments["active_users_30d"].isna().all():
        day = pd.Timestamp(segments["as_of_date"].max()).date()
        days = ledger.read(engine, [user_activities.name], day - timedelta(days=29), day)
        count = lang.number(int((~days["purged"]).sum()))
        notes.append(lang.gettext(SHORT).format(count=count, day=lang.date(day)))
    return " ".join(notes)


def section(engine: Engine, companies: list[int], last: date, lang: Language) -> Groups:
    """The section for the picker's `companies` (all companies aside) as of the last loaded day `last`."""
    frame, dated = _trends(engine, companies, last)
    with engine.connect() as conn:
        segments = pd.read_sql(select(group_segments).where(group_segments.c.company_id.in_(companies)), conn)
    columns = [
        ("company_id", N_("Company id"), ""), ("attribute", N_("Attribute"), ""), ("group", N_("Group"), "text"),
        ("headcount", N_("Headcount"), "count"), ("active_users", N_("Active users, last 30 days"), "count"),
        ("active_users_change", N_("vs 30 days before"), "change"), ("adoption_rate", N_("Adoption"), "rate"),
        ("sessions_per_active_user", N_("Sessions per active user"), "number"),
        *((c, c.removesuffix("_users"), "count") for c in SEGMENT_COLUMNS),  # the segments' names, as translated
    ]  # fmt: skip
    if segments.empty:
        return Groups([], page_tables.column_specs(columns, lang), [], {}, lang.gettext(NO_GROUPS), "")
    key = ["company_id", "attribute", "group_name"]
    rows = segments.sort_values(["company_id", "attribute", "headcount"], ascending=[True, True, False])
    trends = {}
    for grain in GROUP_GRAINS:
        mine = frame[frame["grain"] == grain]
        points = mine.pivot_table("active_users", key, "period_start", aggfunc="sum", observed=True).iloc[:, -TREND:]
        points = points.reindex(pd.MultiIndex.from_frame(rows[key]))
        trends[grain] = [[None if pd.isna(v) else int(v) for v in row] for row in points.to_numpy()]
    out = []
    for r in rows.itertuples(index=False):
        active = None if pd.isna(r.active_users_30d) else int(r.active_users_30d)
        before = None if pd.isna(r.active_users_prior_30d) else int(r.active_users_prior_30d)
        delta = None if active is None or before is None else change(active, before, False)
        out.append([
            int(r.company_id), r.attribute, r.group_name, int(r.headcount), active,
            None if delta is None else round(delta, 4),
            round(active / r.headcount, 4) if active is not None and r.headcount else None,
            round(r.sessions_30d / active, 2) if active else None,
            *(int(getattr(r, c)) for c in SEGMENT_COLUMNS),
        ])  # fmt: skip
    return Groups(
        attributes=sorted(rows["attribute"].unique().tolist()),
        columns=page_tables.column_specs(columns, lang),
        rows=out,
        trend=trends,
        why="",
        note=_note(engine, segments, dated, lang),
    )
