"""Write the generated parts of docs/bi-tools.md (the contract's columns, the Power BI measures) and of
docs/users-and-privacy.md (where a user's id is kept) from their declarations."""

from pathlib import Path

from reporting_assets.bi.docs import BLOCKS, PRIVACY_BLOCKS, render

DOCS = Path(__file__).parents[1] / "docs"
PAGES = {DOCS / "bi-tools.md": BLOCKS, DOCS / "users-and-privacy.md": PRIVACY_BLOCKS}

if __name__ == "__main__":
    for page, blocks in PAGES.items():
        page.write_text(render(page.read_text(), blocks))
        print(f"wrote {page}")
