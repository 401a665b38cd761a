"""The generated parts of the docs: `docs/bi-tools.md`'s view columns and Power BI measures (from the registry),
and `docs/users-and-privacy.md`'s table of where a user's id is kept (from `personal`); `scripts/bi_docs.py` writes
them into the pages, tests hold the pages to them."""

from __future__ import annotations

from collections.abc import Callable

from reporting_assets import personal
from reporting_assets.bi import powerbi
from reporting_assets.bi.contract import AGGREGATION, VIEWS, Field
from reporting_assets.custom_kpis.definition import NO_KPIS


def _made_of(f: Field) -> str:
    """How it aggregates, as the registry declares it (what every kit's measure does)."""
    if f.ratio:
        return f"rate: sum({' + '.join(f.ratio.numerator)}) / sum({' + '.join(f.ratio.denominator)})"
    return f.kind


def aggregation() -> str:
    """The table of how each kind of figure aggregates."""
    rows = [f"| {kind} | {text.split(': ', 1)[1]} |" for kind, text in AGGREGATION.items()]
    return "\n".join(["| kind | over days and companies |", "|---|---|", *rows]) + "\n"


def contract() -> str:
    """A section per view: its grain, description and columns."""
    out = []
    for view in VIEWS.values():
        rows = [f"| `{f.name}` | {f.type} | {_made_of(f)} | {f.comment} |" for f in view.fields]
        absent = " Absent with `REPORTING_USER_LISTS=off`." if view.per_user else ""
        out += [
            f"### `{view.name}`",
            "",
            f"One row per {view.grain.removeprefix('one row per ')}. {view.description}{absent}",
            "",
            "| column | type | aggregates as | description |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def measures() -> str:
    return f"```dax\n{powerbi.measures(NO_KPIS)}```\n"  # your KPIs' measures: in the kit written for them


BLOCKS = {"aggregation": aggregation, "contract": contract, "dax": measures}  # docs/bi-tools.md's


def personal_data() -> str:
    from reporting_assets.bi.extracts import per_user_files
    from reporting_assets.reports.dashboard import FILE_NAME

    return personal.docs_table(per_user_files(), FILE_NAME)


PRIVACY_BLOCKS = {"personal-data": personal_data}  # docs/users-and-privacy.md's


def render(page: str, blocks: dict[str, Callable[[], str]]) -> str:
    """`page` with each generated block (between `<!-- generated: NAME -->` and `<!-- end: NAME -->`) rewritten."""
    for name, make in blocks.items():
        start, end = f"<!-- generated: {name} -->\n", f"<!-- end: {name} -->"
        head, rest = page.split(start, 1)
        _, tail = rest.split(end, 1)
        page = f"{head}{start}{make()}{end}{tail}"
    return page
