"""Write the generated parts of docs/bi-tools.md (the contract's columns, the Power BI measures) from the registry."""

from pathlib import Path

from reporting_assets.bi.docs import render

PAGE = Path(__file__).parents[1] / "docs" / "bi-tools.md"

if __name__ == "__main__":
    PAGE.write_text(render(PAGE.read_text()))
    print(f"wrote {PAGE}")
