"""The Power BI kit, generated from the registry: one DAX measure per count (a SUM) and per rate (DIVIDE of summed
parts, never an average of daily rates), for a model over the contract's views (DirectQuery or import)."""

from __future__ import annotations

from collections import Counter

from reporting_assets.bi.contract import VIEWS, Field, View

MEASURED = ("count", "level", "rate")
# A model's measure names are unique: a name two views share says which view it sums
_SHARED = {
    n for n, k in Counter(f.name for v in VIEWS.values() for f in v.fields if f.kind in MEASURED).items() if k > 1
}


def _name(view: View, f: Field) -> str:
    name = f.name.replace("_", " ").capitalize()
    return f"{name} ({view.name})" if f.name in _SHARED else name


def _sum(view: View, column: str) -> str:
    return f"SUM('{view.name}'[{column}])"


def measure(view: View, f: Field) -> str:
    """`Name = expression`, as Power BI's "New measure" takes it."""
    if f.ratio:
        numerator = " + ".join(_sum(view, c) for c in f.ratio.numerator)
        denominator = " + ".join(_sum(view, c) for c in f.ratio.denominator)
        return f"{_name(view, f)} = DIVIDE({numerator}, {denominator})"
    return f"{_name(view, f)} = {_sum(view, f.name)}"


def measures() -> str:
    """Every measure, grouped by the table (view) it belongs to."""
    blocks = []
    for view in VIEWS.values():
        lines = [measure(view, f) for f in view.fields if f.kind in MEASURED]
        if lines:
            blocks.append("\n".join([f"// table {view.name}", *lines]))
    return "\n\n".join(blocks) + "\n"
