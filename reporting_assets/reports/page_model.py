"""The dashboard's page model: what `dashboard.js` reads from the page's JSON (`#report-data`), as dataclasses.

`dashboard.py` builds a `Page`; `as_json` is what the template writes. Every field is read by `dashboard.js` (or,
for a table's title and download text, by the template), and everything `dashboard.js` reads is a field here:
`test_reports.py` holds the two in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

Value = str | int | float | None  # one cell: text, a number, or null (shown "–", an empty CSV cell)


@dataclass(frozen=True)
class Column:
    key: str  # its CSV header
    label: str
    kind: str  # how a cell is shown: text, count, rate, number, change, points
    hidden: bool  # in the CSV only


@dataclass(frozen=True)
class Table:
    """A table of the page: its rows' first value is the company id the picker filters on."""

    title: str
    download: str
    columns: list[Column]
    rows: list[list[Value]]
    limit: int  # rows shown; the CSV holds them all
    all: bool  # "All companies" shows every company's rows
    empty: str  # what shows when the picked company has no row


@dataclass(frozen=True)
class HeadlineFigure:
    value: str
    change: str
    why: str  # why the value is not known ("" when it is)


@dataclass(frozen=True)
class Company:
    id: int
    name: str  # as stored: the CSVs hold it whole
    title: str  # one line, cut: headings
    label: str  # the picker's text
    series: dict[str, dict[str, list[float | None]]]  # grain -> figures.PARTS at each point of `Page.axes[grain]`
    partial: dict[str, dict[str, int]]  # grain -> {point index: its loaded days} of points not wholly loaded
    headline: list[HeadlineFigure]
    kpis: list[HeadlineFigure]  # a card per KPI of `YourKpis`
    kpi_partial: dict[str, dict[str, int]]  # `partial` of its KPIs' trends (their days: custom_kpis'), if any


@dataclass(frozen=True)
class Axis:
    """The points of one grain (day, week, month): each period's first and last day, and its length in days."""

    t: list[str]
    end: list[str]
    days: list[int]


@dataclass(frozen=True)
class ChartFigure:
    key: str
    label: str
    why: str  # why it may have no point


@dataclass(frozen=True)
class Panel:
    figures: list[ChartFigure]  # (its title is in its Vega-Lite spec)


@dataclass(frozen=True)
class Compare:
    """Companies side by side: one row per company (`columns`), why each unknown cell is unknown, the trends."""

    columns: list[Column]
    rows: list[list[Value]]
    why: list[list[str]]
    trend: list[list[float | None]]


@dataclass(frozen=True)
class YourKpis:
    """The KPIs of REPORTING_KPIS (`your_kpis.py`): a card and a trend each (its values in `Company.series` under
    the panel's figure key, for the companies whose trends the page holds)."""

    labels: list[str]  # the cards'
    descriptions: list[str]
    panels: list[Panel]  # one per KPI
    specs: list[dict]  # their Vega-Lite specs
    why: str  # why there is none ("" when there are)
    left_out: str  # what a company whose trends the page does not hold shows


@dataclass(frozen=True)
class Groups:
    """Groups side by side (`groups.py`): one row per company, org attribute and group (`columns`; only groups of
    at least REPORTING_MIN_GROUP_SIZE, and "(other)"), and each row's trend of active users per grain."""

    attributes: list[str]  # the picker's
    columns: list[Column]
    rows: list[list[Value]]
    trend: dict[str, list[list[int | None]]]  # grain -> per row: active users of its last periods
    why: str  # why there is no group ("" when there are)
    note: str  # what the figures assume ("" when nothing)


@dataclass(frozen=True)
class CompanyUsers:
    funnel: list[int | None]  # members, ever active, active over 30 days, power users
    never: int | None  # members never active
    segments: list[int]  # users per segment of `Users.segments`
    months: list[list[Value]]  # [month, new, newly dormant]
    cohorts: list[list[Value]]  # [cohort, offset, rate, retained, size]


@dataclass(frozen=True)
class Users:
    known: bool  # any per-user data at all
    by_company: dict[str, CompanyUsers]  # by company id (as text: a JSON key)
    segments: list[str]
    specs: dict[str, dict]  # Vega-Lite specs of the months and cohorts charts
    why: str  # why the section is empty


@dataclass(frozen=True)
class CsvFormat:
    """How the downloads write a cell for the reader's spreadsheet (`i18n.Language`): "," and "." in English,
    ";" and "," in French and German."""

    separator: str
    decimal: str


@dataclass(frozen=True)
class Page:
    axes: dict[str, Axis]  # grain -> the charts' points (`figures.GRAINS`)
    ratios: dict[str, list[list[str]]]  # rate -> [numerator parts, denominator parts] (`metrics.RATIOS`)
    daily_columns: list[str]
    panels: list[Panel]
    specs: list[dict]  # the panels' Vega-Lite specs
    all_id: int
    companies: list[Company]
    compare: Compare
    tables: dict[str, Table]
    users: Users
    kpis: YourKpis
    groups: Groups
    csv: CsvFormat
    locale: str  # the reader's language: numbers formatted with Intl
    vega_locale: dict[str, dict]  # the charts' number and time locale (`i18n.Language.vega_locale`)
    text: dict[str, str]  # what the script writes itself: message -> translation
    plurals: dict[str, list[str]]  # what it writes with a count: singular message -> [one, other], translated


def as_json(page: Page) -> dict[str, Any]:
    return asdict(page)
