"""Rule evaluation as pure functions of KPI rows: day-by-day conditions, then alert episodes.

An episode is a run of consecutive days on which a rule's condition holds for one company. It fires once it
has lasted `for_days`; it resolves on the first later day the condition no longer holds. Episodes that never
reached `for_days` are dropped unless still open (`pending`). Everything follows from the data, so evaluating
the same rows twice gives the same episodes: the basis of "never notify twice".

Only days in the load ledger of the rule's asset are evaluated (`loaded`): a day that was never loaded is not
a day without activity, so on it a rule neither holds nor stops holding; the evaluated days follow one another
as if it were not there, and the latest loaded day is "today" for open episodes.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Protocol

from reporting_assets.alerts import episode
from reporting_assets.alerts.rules import Rule
from reporting_assets.i18n import Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES, latest_names
from reporting_assets.neutralise import plain
from reporting_assets.warehouse.ledger import covered, whole_window

CONDITION_COLUMNS = ["company_id", "company_name", "date", "value", "threshold", "holds"]
EPISODE_COLUMNS = episode.COLUMNS


def conditions(rule: Rule, kpi: pd.DataFrame, loaded: pd.DataFrame) -> pd.DataFrame:
    """Per watched company and loaded day, from its first row to the latest loaded day: value, limit, holds.

    `loaded` holds the ledger rows (date, company_scope) of the rule's asset. A loaded day without a row counts
    as 0 for a count metric (for a rolling one, only when its whole window is loaded) and as NULL (never holding
    a comparison) otherwise. Several rows per company and day (resource_usage) are added up.
    """
    keys = entity(rule)
    rows = kpi if rule.companies in ("all", "total") else kpi[kpi["company_id"].isin(rule.companies)]
    if rows.empty or loaded.empty:
        return pd.DataFrame(columns=[*keys, *CONDITION_COLUMNS[1:]])
    rows = rows.assign(date=pd.to_datetime(rows["date"]))
    daily = rows.groupby([*keys, "date"])[rule.metric].sum(min_count=1).astype("float64")
    first = rows.groupby(keys)["date"].min()
    days = pd.DatetimeIndex(sorted(set(pd.to_datetime(loaded["date"])))).rename("date")
    watched = first.index.to_frame(index=False).merge(pd.DataFrame({"date": days[days >= first.min()]}), how="cross")
    grid = pd.MultiIndex.from_frame(watched)
    since = first.reindex(grid.droplevel("date")).to_numpy()
    day_loaded = covered(loaded, grid)
    grid = grid[(grid.get_level_values("date") >= since) & day_loaded.to_numpy()]
    value = daily.reindex(grid)
    if rule.counts:
        absent = ~grid.isin(daily.index)
        if rule.window_days > 1:  # a rolling count is only known to be 0 when its whole window is loaded
            absent &= whole_window(pd.Series(True, index=grid), rule.window_days).to_numpy()
        value = value.where(~absent, 0.0)

    threshold = rule.threshold if rule.threshold is not None else 0.0
    if rule.condition in ("below", "above"):
        limit = pd.Series(threshold, index=value.index)
        holds = value < limit if rule.condition == "below" else value > limit
    elif rule.condition == "no_data":
        limit = pd.Series(0.0, index=value.index)
        holds = value.isna() | (value == 0)
    else:
        previous = value.groupby(level=keys).shift(1)
        window = previous.groupby(level=keys).rolling(rule.baseline_days, min_periods=rule.baseline_days)
        baseline = window.mean().droplevel(list(range(len(keys))))
        factor = 1 - threshold if rule.condition == "drop_vs_mean" else 1 + threshold
        limit = baseline * factor
        beyond = value < limit if rule.condition == "drop_vs_mean" else value > limit
        holds = (baseline > 0) & beyond

    out = pd.DataFrame({"value": value, "threshold": limit, "holds": holds.fillna(False).astype(bool)}).reset_index()
    out["company_name"] = out["company_id"].map(latest_names(rows))
    return out[[*keys, *CONDITION_COLUMNS[1:]]]


def entity(rule: Rule) -> list[str]:
    """What one alert is about: a company, or a group of the rule's org attribute in a company (`by`)."""
    return ["company_id", "group_name"] if rule.by is not None else ["company_id"]


def episodes(rule: Rule, kpi: pd.DataFrame, loaded: pd.DataFrame, lang: Language) -> pd.DataFrame:
    """The rule's alert episodes over the loaded days of `kpi`, one row per (company, start day); their messages in
    `lang`."""
    cond = conditions(rule, kpi, loaded)
    if not cond["holds"].any():
        return pd.DataFrame(columns=EPISODE_COLUMNS)
    keys = entity(rule)
    latest = cond["date"].max()
    changed = cond["holds"] != cond.groupby(keys)["holds"].shift()
    cond["run"] = changed.cumsum()
    who = {k: (k, "first") for k in keys}
    runs = (
        cond[cond["holds"]]
        .groupby("run")
        .agg(**who, started=("date", "min"), ended=("date", "max"), days=("date", "size"))
    )
    is_open = runs["ended"] == latest
    runs = runs[is_open | (runs["days"] >= rule.for_days)].copy()
    is_open = runs["ended"] == latest
    runs["status"] = "resolved"
    runs.loc[is_open, "status"] = "pending"
    runs.loc[is_open & (runs["days"] >= rule.for_days), "status"] = "firing"
    runs["date"] = runs["ended"].where(is_open, runs["ended"] + pd.Timedelta(days=1))
    runs = runs.merge(cond[[*keys, "company_name", "date", "value", "threshold"]], on=[*keys, "date"])
    whom = "total" if rule.total else runs["company_id"].astype(str)
    if rule.by is not None:  # the group as a digest: its name is the org file's text, and fingerprints reach logs
        whom = whom + "/" + runs["group_name"].map(group_key)

    out = pd.DataFrame(
        {
            "fingerprint": rule.name + "/" + whom,
            "started_at": runs["started"].dt.date,
            "rule_name": rule.name,
            "severity": rule.severity,
            "asset": rule.asset,
            "company_id": runs["company_id"],
            "company_name": runs["company_name"],
            "date": runs["date"].dt.date,
            "metric": rule.metric,
            "value": runs["value"],
            "threshold": runs["threshold"],
            "status": runs["status"],
            "resolved_at": runs["date"].dt.date.where(runs["status"] == "resolved", None),
        }
    )
    groups = runs["group_name"].tolist() if rule.by is not None else [None] * len(out)
    out["message"] = [describe(rule, row, lang, g) for row, g in zip(out.itertuples(index=False), groups, strict=True)]
    return out[EPISODE_COLUMNS].reset_index(drop=True)


def _shown(value: float | None, lang: Language) -> str:
    return lang.gettext("no data") if value is None or pd.isna(value) else lang.figure(value)


class Facts(Protocol):
    """What a notification line says of an episode: an `Episode`, or a row of the frame `episodes` builds."""

    company_id: int
    company_name: str | None
    date: date
    started_at: date
    value: float | None
    threshold: float | None
    status: str


def group_key(name: str) -> str:
    """A group's part of a fingerprint: a digest of its name (the same for the same group, in any process)."""
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def describe(rule: Rule, episode: Facts, lang: Language, group: str | None = None) -> str:
    """One line a person reads in a notification, in `lang`: who (the company, and the `group` of a rule by group),
    what, how far from the limit, since when (days as ISO dates, in every language: unambiguous, and what mail
    filters match)."""
    if rule.total:
        who = lang.gettext(ALL_COMPANIES)
    else:
        who = lang.gettext("{company} ({id})").format(company=plain(episode.company_name), id=episode.company_id)
    if group is not None:
        who = lang.gettext("{who}, {attribute} {group}").format(who=who, attribute=plain(rule.by), group=plain(group))
    facts = {
        "metric": rule.metric,
        "value": _shown(episode.value, lang),
        "limit": _shown(episode.threshold, lang),
        "day": episode.date.isoformat(),
        "since": episode.started_at.isoformat(),
    }
    if episode.status == "resolved" and rule.condition == "no_data":
        line = lang.gettext("{metric} = {value} on {day}, data again after none since {since}")
        return f"{who}: {line.format(**facts)}"
    if episode.status == "resolved":
        line = lang.gettext(
            "{metric} = {value} on {day}, back within the limit ({limit}); the alert started on {since}"
        )
        return f"{who}: {line.format(**facts)}"
    if rule.condition == "no_data":
        what = lang.gettext("no {metric} since {since}")
    elif rule.condition == "below":
        what = lang.gettext("{metric} = {value} on {day}, below {limit}")
    elif rule.condition == "above":
        what = lang.gettext("{metric} = {value} on {day}, above {limit}")
    elif rule.condition == "drop_vs_mean":
        what = lang.gettext("{metric} = {value} on {day}, more than {share} below its {days}-day mean (limit {limit})")
    else:
        what = lang.gettext("{metric} = {value} on {day}, more than {share} above its {days}-day mean (limit {limit})")
    share = lang.change(rule.threshold or 0.0).lstrip("+")
    what = what.format(**facts, share=share, days=rule.baseline_days)
    return lang.gettext("{who}: {what} (condition holds since {since})").format(
        who=who, what=what, since=facts["since"]
    )
