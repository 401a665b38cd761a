"""The dashboard's "Your KPIs" section: the KPIs of REPORTING_KPIS, from `custom_kpis`, labelled in the reader's
language. Per company (and all companies): a card per KPI over the last 30 days against the 30 before, a trend
per KPI at the page's grains (`figures.GRAINS`), and a table of every company side by side, downloadable. A
period's value is recomputed from its parts (`custom_kpis.periods`), never averaged; a period not wholly loaded
is marked as the other trends' are, a sum paced to its length as theirs are. The trends of at most
`TREND_VALUES` values are in the page: those of the most active companies, so that the page stays bounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, func, literal, select

from reporting_assets.custom_kpis import periods as kpi_periods
from reporting_assets.custom_kpis.definition import CustomKpi, KpiFile
from reporting_assets.i18n import N_, Language
from reporting_assets.lazy import pandas as pd
from reporting_assets.metrics import ALL_COMPANIES_ID, change
from reporting_assets.reports import chart_specs, figures, page_tables
from reporting_assets.reports.figures import Figure, change_text, change_words
from reporting_assets.reports.page_model import Axis, ChartFigure, HeadlineFigure, Panel, Table, YourKpis
from reporting_assets.warehouse.tables import custom_kpis

WINDOW = 30  # days of a card, against the 30 before
TREND_VALUES = 100_000  # KPI values of every trend in the page, at most
BATCH = 50_000  # rows of custom_kpis read at once
UNITS = {"percent": "rate", "number": "count", "decimal": "decimal"}  # KPI format -> the charts' and cells' unit
KINDS = {"percent": "rate", "number": "count", "decimal": "number"}  # ... -> a table cell's kind
NO_FILE = N_("No KPI of your own: declare them in a file and set REPORTING_KPIS (docs/your-kpis.md).")
NOT_YET = N_("no day computed yet: materialize custom_kpis")


@dataclass(frozen=True)
class KpiFigures:
    """The section's model and, per company id, what `Company` holds of it."""

    section: YourKpis
    series: dict[int, dict[str, dict[str, list[float | int | None]]]]  # company -> grain -> "kpi.<name>" -> values
    partial: dict[int, dict[str, dict[str, int]]]  # company -> grain -> {point index: loaded days}
    cards: dict[int, list[HeadlineFigure]]
    table: Table


def key(kpi: CustomKpi) -> str:
    """The KPI's figure in a company's series (no clash with the built-in figures)."""
    return f"kpi.{kpi.name}"


def _rows(
    engine: Engine, kpis: list[str], trended: list[int], companies: list[int], start: date, end: date
) -> pd.DataFrame:
    """The `kpis`' rows (kpi, company_id, date, numerator, denominator) in one pass over `custom_kpis`: over
    `start..end` for the `trended` companies and all companies summed per day, over the cards' last 2 x `WINDOW`
    days for the other `companies`. Read `BATCH` rows at a time into typed frames, never all as tuples."""
    t = custom_kpis
    recent = end - timedelta(days=2 * WINDOW - 1)
    whose = t.c.company_id.in_(trended) | (t.c.company_id.in_(companies) & (t.c.date >= recent))
    span = t.c.date.between(start, end) & t.c.kpi.in_(kpis)
    own = select(t.c.kpi, t.c.company_id, t.c.date, t.c.numerator, t.c.denominator).where(span, whose)
    total = (t.c.kpi, literal(ALL_COMPANIES_ID), t.c.date, func.sum(t.c.numerator), func.sum(t.c.denominator))
    every = select(*total).where(span).group_by(t.c.kpi, t.c.date)
    columns = ["kpi", "company_id", "date", "numerator", "denominator"]
    types = {"kpi": "category", "company_id": "int64", "numerator": "float64", "denominator": "float64"}
    frames = [pd.DataFrame(columns=columns).astype(types)]
    with engine.connect() as conn:
        for query in (own, every):
            for batch in conn.execution_options(yield_per=BATCH).execute(query).partitions():
                frames.append(pd.DataFrame(map(tuple, batch), columns=columns).astype(types))
    frame = pd.concat(frames, ignore_index=True).astype({"kpi": "category"})
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def _trend(
    kpi: CustomKpi, rows: pd.DataFrame, grain: str, axis: Axis, people: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per company, the KPI's value at each point of `axis` (a sum paced to the period's length when not all its
    days are loaded), and the loaded days of each point (NaN: none)."""
    t = pd.to_datetime(pd.Series(axis.t))
    period = rows["date"].dt.to_period(figures.PERIODS[grain]).dt.start_time
    own = rows.assign(t=period)
    own = own[own["t"].isin(t)]
    whose = people[people["grain"] == grain].set_index(kpi_periods.KEY)[figures.PEOPLE]
    out = kpi_periods.by_period(kpi, own, None if grain == "day" else whose)
    length = pd.Series(axis.days, index=t)
    days = length.reindex(out.index.get_level_values("t")).to_numpy()
    if kpi.denominator is None:
        out["value"] = out["value"] * days / out["days"]
    values = out["value"].unstack("t").reindex(columns=t)
    loaded = out["days"].unstack("t").reindex(columns=t)
    return values.where(values.abs() < 100, values.round(0)).round(4), loaded


def _cards(
    kpi: CustomKpi, rows: pd.DataFrame, daily: pd.DataFrame, last: date, lang: Language
) -> dict[int, tuple[Figure, float | None]]:
    """Per company: the KPI over the last `WINDOW` days against the `WINDOW` before (known when every day of a
    window is loaded; people: the window's 30-day active users), and the change."""
    end = pd.Timestamp(last)
    now = rows["date"] > end - pd.Timedelta(days=WINDOW)
    window = rows.assign(t=now.map({True: end, False: end - pd.Timedelta(days=WINDOW)}))
    window = window[window["date"] > end - pd.Timedelta(days=2 * WINDOW)]
    actives = daily.set_index(["company_id", "date"])["active_users_30d"].rename_axis(kpi_periods.KEY)
    out = kpi_periods.by_period(kpi, window, actives)
    percent = kpi.format == "percent"
    label = lang.gettext("{kpi}, last 30 days").format(kpi=kpi.label_in(lang.code))
    cards = {}
    for company_id in rows["company_id"].unique():
        known = {}
        for t in (end, end - pd.Timedelta(days=WINDOW)):
            row = out.loc[(company_id, t)] if (company_id, t) in out.index else None
            whole = row is not None and row["days"] == WINDOW and pd.notna(row["value"])
            known[t] = (float(row["value"]) if whole else None, 0 if row is None else int(row["days"]))
        (value, days), (previous, _) = known[end], known[end - pd.Timedelta(days=WINDOW)]
        why = (
            ""
            if value is not None
            else lang.gettext("not known: {count} of the last 30 days computed").format(count=days)
        )
        figure = Figure(label, "rate" if percent else "count", value, previous, why, lang.gettext("30 days before"))
        delta = None if value is None else change(value, previous, percent)
        cards[int(company_id)] = (figure, None if delta is None else round(delta, 4))
    return cards


def _change(kpi: CustomKpi, figure: Figure, lang: Language) -> str:
    """The change as the card shows it: its words only, the label saying against what (said once, not per card)."""
    if figure.value is None or figure.previous is None:
        return change_text(figure, lang)
    return change_words(figure.value, figure.previous, kpi.format == "percent", lang)


def _text(kpi: CustomKpi, value: float | None, lang: Language) -> str:
    if value is None:
        return "–"
    if kpi.format == "percent":
        return lang.percent(value)
    return lang.number(value, 2 if kpi.format == "decimal" else 0)


def section(
    engine: Engine,
    kpis: KpiFile,
    companies: dict[int, str],
    axes: dict[str, Axis],
    daily: pd.DataFrame,
    people: pd.DataFrame,
    last: date,
    lang: Language,
) -> KpiFigures:
    """The section for `companies` (id -> name, all companies first, then the most active first), from the
    page's `axes`, its `daily` figures (`figures.daily`: the 30-day active users) and the periods' `people`."""
    ids = list(companies)
    card = lang.gettext("{kpi}, last 30 days, change against the 30 before")
    points = sum(len(a.t) for a in axes.values())
    trended = ids[: max(1, TREND_VALUES // max(1, points * len(kpis.kpis)))]
    start = min(date.fromisoformat(a.t[0]) for a in axes.values())
    start = min(start, last - timedelta(days=2 * WINDOW - 1))
    series: dict[int, dict[str, dict[str, list]]] = {c: {g: {} for g in axes} for c in trended}
    partial: dict[int, dict[str, dict[str, int]]] = {c: {} for c in trended}
    cards: dict[int, list[HeadlineFigure]] = {c: [] for c in ids}
    table = {c: [c, companies[c]] for c in ids}
    columns = [("company_id", N_("Company id"), ""), ("company", N_("Company"), "text")]
    others = [c for c in ids if c != ALL_COMPANIES_ID]
    every = _rows(engine, kpis.names(), [c for c in trended if c != ALL_COMPANIES_ID], others, start, last)
    none, by_kpi = every.iloc[:0], dict(tuple(every.groupby("kpi", observed=True)))
    del every
    for kpi in kpis.kpis:
        rows = by_kpi.pop(kpi.name, none)
        for grain, axis in axes.items():
            values, loaded = _trend(kpi, rows[rows["company_id"].isin(trended)], grain, axis, people)
            short = loaded.notna() & (loaded < pd.Series(axis.days, index=loaded.columns))
            for c in trended:
                mine = values.loc[c] if c in values.index else pd.Series(float("nan"), index=values.columns)
                series[c][grain][key(kpi)] = chart_specs.compact(mine)
                if c in loaded.index and grain not in partial[c]:
                    flags = short.loc[c].to_numpy()
                    partial[c][grain] = {str(i): int(loaded.loc[c].iloc[i]) for i in flags.nonzero()[0]}
        found = _cards(kpi, rows, daily, last, lang)
        empty = Figure("", "count", None, None, lang.gettext(NOT_YET))
        for c in ids:
            figure, delta = found.get(c, (empty, None))
            cards[c].append(HeadlineFigure(_text(kpi, figure.value, lang), _change(kpi, figure, lang), figure.why))
            table[c] += [figure.value, delta]
        label = kpi.label_in(lang.code)
        columns += [(kpi.name, label, KINDS[kpi.format]),
                    (f"{kpi.name}_change", lang.gettext("{kpi}: vs 30 days before").format(kpi=label),
                     "points" if kpi.format == "percent" else "change")]  # fmt: skip
    model = YourKpis(
        labels=[card.format(kpi=k.label_in(lang.code)) for k in kpis.kpis],
        descriptions=[k.description for k in kpis.kpis],
        panels=[Panel([ChartFigure(key(k), k.label_in(lang.code), lang.gettext(NOT_YET))]) for k in kpis.kpis],
        specs=[
            chart_specs.line_spec(k.label_in(lang.code), [k.label_in(lang.code)], UNITS[k.format], lang)
            for k in kpis.kpis
        ],
        why="" if kpis.kpis else lang.gettext(NO_FILE),
        left_out=lang.gettext(
            "The page holds the trends of the {count} most active companies; every company's are in the table "
            "custom_kpis (fct_custom_kpi)."
        ).format(count=lang.number(len(trended) - 1)),
    )
    kpi_table = page_tables.table(
        lang.gettext("Your KPIs, companies side by side (last 30 days)"),
        lang.gettext("your KPIs of every company"),
        columns,
        [table[c] for c in ids],
        lang,
        every_company=True,
    )
    return KpiFigures(model, series, partial, cards, kpi_table)
