"""Figures per org group (`group_activity`), from the per-user rows and the effective-dated memberships.

Activity is attributed to the group the user belonged to that day (the membership with the latest `valid_from` up
to it; none: "(unassigned)"). Per grain (day, ISO week, month) and period with a loaded day: the headcount on the
period's last loaded day, distinct active users, sessions and queries. "(unassigned)" counts its active users as
its headcount: the org data knows no one else in it. `suppress` then folds every group below the minimum size
into "(other)", before anything is stored: no output can name one.
"""

from __future__ import annotations

from reporting_assets.lazy import pandas as pd
from reporting_assets.warehouse.tables import OTHER, RECENT_COLUMNS, SEGMENT_COLUMNS, UNASSIGNED

KEY = ["company_id", "attribute", "grain", "period_start"]
FIGURES = ["headcount", "active_users", "sessions_count", "queries_count"]
ALWAYS = "1900-01-01"  # the day of a membership without valid_from, in the computation only: never stored


def _periods(days: pd.Series, grain: str) -> pd.Series:
    from reporting_assets.reports.figures import PERIODS  # on use: loading the code location imports no pandas

    return days.dt.to_period(PERIODS[grain]).dt.start_time


def _headcount(memberships: pd.DataFrame, last_days: pd.DataFrame) -> pd.DataFrame:
    """Per (company_id, attribute, group_name) and each (grain, period_start, day) of `last_days`: people whose
    membership that day is in the group. One +1 and one -1 per membership, summed: never a row per user and day."""
    m = memberships.assign(valid_from=memberships["valid_from"].fillna(pd.Timestamp(ALWAYS)).astype("datetime64[ns]"))
    m = m.sort_values(["company_id", "attribute", "user_id", "valid_from"])
    until = m.groupby(["company_id", "attribute", "user_id"])["valid_from"].shift(-1)
    group = ["company_id", "attribute", "group_name"]
    steps = pd.concat(
        [m[group].assign(day=m["valid_from"], step=1), m.loc[until.notna(), group].assign(day=until.dropna(), step=-1)]
    )
    steps = steps.groupby([*group, "day"], as_index=False)["step"].sum().sort_values("day")
    steps["headcount"] = steps.groupby(group)["step"].cumsum()
    asked = steps[group].drop_duplicates().merge(last_days, how="cross").sort_values("day")
    out = pd.merge_asof(asked, steps[[*group, "day", "headcount"]], on="day", by=group, direction="backward")
    return out.fillna({"headcount": 0})


def blocks(rows: pd.Series, grain: str, budget: int) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Spans of whole periods of `grain` (first and last day) holding at most `budget` of `rows` (day -> rows of
    activity) each, or one period when it alone holds more: what `figures` takes at once."""
    if not len(rows):
        return []
    days = rows.sort_index()
    per_period = days.groupby(_periods(pd.Series(days.index, index=days.index), grain)).sum()
    spans, held, first = [], 0, None
    for start, count in per_period.items():
        if first is not None and held + count > budget:
            spans.append((first, start - pd.Timedelta(days=1)))
            first, held = None, 0
        first = start if first is None else first
        held += count
    spans.append((first, days.index.max()))
    return spans


def figures(
    activity: pd.DataFrame, memberships: pd.DataFrame, loaded: pd.Series, grain: str, first: pd.Series
) -> pd.DataFrame:
    """Every group's figures at `grain`, unsuppressed (`suppress` must follow), for the whole periods of `activity`
    (company_id, date, user_id, sessions_count, queries_count of loaded days); `memberships`: company_id, user_id,
    valid_from (NaT: since always), attribute, group_name; `loaded`: the loaded days of those periods (datetime64);
    `first`: company_id -> its first day of activity (no group figures before it)."""
    empty = pd.DataFrame(columns=[*KEY, "group_name", *FIGURES])
    if not len(memberships) and not len(activity):
        return empty
    days = pd.Series(sorted(loaded.unique()), dtype="datetime64[ns]")
    last_days = pd.DataFrame({"period_start": _periods(days, grain), "day": days})
    last_days = last_days.groupby("period_start", as_index=False)["day"].max()
    counted = _headcount(memberships, last_days)
    counted = counted[counted["day"] >= counted["company_id"].map(first)] if len(counted) else counted
    acts = activity.assign(date=activity["date"].astype("datetime64[ns]")).sort_values("date")
    acts["period_start"] = _periods(acts["date"], grain)
    out = []
    for attribute, mine in memberships.groupby("attribute"):
        mine = mine.assign(valid_from=mine["valid_from"].fillna(pd.Timestamp(ALWAYS)).astype("datetime64[ns]"))
        rows = pd.merge_asof(
            acts,
            mine[["company_id", "user_id", "valid_from", "group_name"]].sort_values("valid_from"),
            left_on="date",
            right_on="valid_from",
            by=["company_id", "user_id"],
            direction="backward",
        ).fillna({"group_name": UNASSIGNED})
        active = rows.groupby(["company_id", "group_name", "period_start"]).agg(
            active_users=("user_id", "nunique"), sessions_count=("sessions_count", "sum"),
            queries_count=("queries_count", "sum"),
        ).reset_index()  # fmt: skip
        del rows
        heads = counted.loc[
            counted["attribute"] == attribute, ["company_id", "group_name", "period_start", "headcount"]
        ]
        both = heads.merge(active, on=["company_id", "group_name", "period_start"], how="outer")
        both = both.fillna({"active_users": 0, "sessions_count": 0, "queries_count": 0})
        unassigned = both["group_name"] == UNASSIGNED
        both.loc[unassigned, "headcount"] = both.loc[unassigned, "active_users"]
        out.append(both.assign(attribute=attribute, grain=grain).fillna({"headcount": 0}))
    if not out:
        return empty
    frame = pd.concat(out, ignore_index=True)
    frame = frame[(frame["headcount"] > 0) | (frame["active_users"] > 0)]
    return frame[[*KEY, "group_name", *FIGURES]].astype({f: "int64" for f in FIGURES})


def _groups_on(memberships: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each user's group per attribute on `day` (company_id, user_id, attribute, group_name): the membership with
    the latest valid_from up to it."""
    m = memberships.assign(valid_from=memberships["valid_from"].fillna(pd.Timestamp(ALWAYS)))
    held = m[m["valid_from"] <= day].sort_values("valid_from").groupby(["company_id", "user_id", "attribute"])
    return held.last().reset_index()[["company_id", "user_id", "attribute", "group_name"]]


def _in_groups(users: pd.DataFrame, groups_of: pd.DataFrame) -> pd.DataFrame:
    """`users` (company_id, user_id, ...) with their `group_name` of `groups_of` (one attribute), "(unassigned)"
    for those without one."""
    return users.merge(groups_of, on=["company_id", "user_id"], how="left").fillna({"group_name": UNASSIGNED})


def segments(
    engagement: pd.DataFrame, memberships: pd.DataFrame, as_of: pd.Timestamp, prior: pd.DataFrame
) -> pd.DataFrame:
    """Per company, attribute and group on `as_of`: its headcount, its users per engagement segment and its users
    active over the 30 days ending on `as_of` (and their sessions), unsuppressed (`suppress` must follow).
    `engagement`: company_id, user_id, segment, active_days_30d, sessions_30d (user_engagement's picture on
    `as_of`); `prior`: company_id, user_id of the users active in the 30 days before, counted in their group on the
    last of them. A user without a group counts in "(unassigned)", whose headcount is its users there."""
    columns = ["company_id", "attribute", "group_name", "headcount", *SEGMENT_COLUMNS, *RECENT_COLUMNS]
    if not len(memberships):
        return pd.DataFrame(columns=columns)
    now, then = _groups_on(memberships, as_of), _groups_on(memberships, as_of - pd.Timedelta(days=30))
    engagement = engagement.assign(active=engagement["active_days_30d"] > 0)
    out = []
    for attribute, mine in now.groupby("attribute"):
        heads = mine.groupby(["company_id", "group_name"]).size().rename("headcount")
        users = _in_groups(engagement, mine.drop(columns="attribute"))
        alone = users[users["group_name"] == UNASSIGNED].groupby(["company_id", "group_name"]).size()
        heads = pd.concat([heads, alone.rename("headcount")])
        counted = users.groupby(["company_id", "group_name", "segment"]).size().unstack("segment", fill_value=0)
        counted = counted.reindex(columns=[c.removesuffix("_users") for c in SEGMENT_COLUMNS], fill_value=0)
        counted.columns = list(SEGMENT_COLUMNS)
        recent = users.groupby(["company_id", "group_name"]).agg(
            active_users_30d=("active", "sum"), sessions_30d=("sessions_30d", "sum")
        )
        before = _in_groups(prior, then.loc[then["attribute"] == attribute].drop(columns="attribute"))
        before = before.groupby(["company_id", "group_name"]).size().rename("active_users_prior_30d")
        both = heads.to_frame().join(counted, how="left").join(recent, how="left").join(before, how="left").fillna(0)
        out.append(both.reset_index().assign(attribute=attribute))
    frame = pd.concat(out, ignore_index=True).fillna({"headcount": 0})
    return frame[columns].astype({c: "int64" for c in columns[3:]})


def suppress(frame: pd.DataFrame, min_size: int, keys: list[str] = KEY) -> pd.DataFrame:
    """`frame` with no group below `min_size` named: in each company, attribute and period (`keys`), the groups
    below it and then the next smallest ones until their sum reaches it are folded into "(other)", every figure
    summed; a period whose groups all together stay below it is left out. So "(other)" is never below `min_size`,
    and no group's figures follow from the others' and a total."""
    if not len(frame):
        return frame
    summed = [c for c in frame.columns if c not in (*keys, "group_name")]
    f = frame.sort_values([*keys, "headcount", "group_name"], kind="stable").reset_index(drop=True)
    by = [f[k] for k in keys]
    rank = f.groupby(by, sort=False).cumcount() + 1
    reach = f.groupby(by, sort=False)["headcount"].cumsum()
    small = (f["headcount"] < min_size).groupby(by, sort=False).transform("sum")
    size = f.groupby(by, sort=False)["headcount"].transform("size")
    upto = rank.where((rank >= small) & (reach >= min_size)).groupby(by, sort=False).transform("min").fillna(size)
    folded = (small > 0) & (rank <= upto)
    other = f[folded].groupby(keys, as_index=False)[summed].sum()
    other = other[other["headcount"] >= min_size].assign(group_name=OTHER)
    return pd.concat([f[~folded], other[f.columns]], ignore_index=True)
