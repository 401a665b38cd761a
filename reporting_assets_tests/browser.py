"""The dashboard as a reader opens it: Debian's chromium, offline, nothing fetched, no script error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from reporting_assets_tests.conftest import CHROMIUM_ARGS

PLACEHOLDERS = re.compile(r"\b(NaT|NaN|nan|None|null|undefined)\b")


@contextmanager
def opened(chromium: str, path: Path) -> Iterator[Page]:
    """The page at `path`, once its charts are drawn; afterwards, nothing was fetched and no error logged."""
    asked, errors = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True, accept_downloads=True).new_page()
            page.route(
                re.compile(r"^(?!file:|blob:).*"), lambda route: (asked.append(route.request.url), route.abort())
            )
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_selector("body[data-ready=true]")
            yield page
        finally:
            browser.close()
    assert asked == [] and errors == []


def pick(page: Page, label: str) -> None:
    """Choose a company in the picker, as a person types it and leaves the field."""
    page.fill("#company", label)
    page.dispatch_event("#company", "change")
    page.wait_for_function("label => document.body.dataset.picked === label", arg=label)


def table_rows(page: Page, name: str) -> dict[str, list[str]]:
    """The rows of a table of the page, by their first cell."""
    rows = page.eval_on_selector_all(
        f"#table-{name} tbody tr", "trs => trs.map(tr => Array.from(tr.cells).map(c => c.textContent))"
    )
    return {row[0]: row for row in rows}


def placeholders(page: Page) -> list[str]:
    """Placeholder words in what a reader sees (the page's text)."""
    return PLACEHOLDERS.findall(page.inner_text("body"))
