"""A reader's walk through the dashboard in chromium, each step checked against the page's own model (the JSON
`dashboard.py` wrote) and timed: sort, filter and pick in the companies side by side, every range and grain of the
trends, the page's language, and its print. The report tests walk their pages; the bench walks its 3 years x 200
companies (part 7)."""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from playwright.sync_api import Page
from pypdf import PdfReader

from reporting_assets_tests.browser import pick
from reporting_assets_tests.messages import english_left

OUR_TEXT = "h1, h2, label, button, p, th, .label, .why, .change, .count, svg text, input[placeholder]"
A4_MM = (210, 297)
MARGIN_MM = 12  # the page's own `@page` margin
CSS_PX_PER_MM = 96 / 25.4
RANGES = ("30", "90", "365", "all")
GRAINS = ("day", "week", "month")
SHOWN_ROWS = "trs => trs.map(tr => Number(tr.dataset.row))"


@dataclass(frozen=True)
class Printed:
    """The page printed to PDF (each page's text and size in points), and in print media at A4's printable size:
    each chart's box, whether the controls show, how panels break."""

    pages: list[str]
    sizes: set[tuple[int, int]]
    charts: list[tuple[float, float]]
    printable: tuple[float, float]
    controls_shown: list[bool]
    breaks: set[str]


def printed(page: Page) -> Printed:
    """Print → Save as PDF, as chromium does it, then the page back on screen."""
    width, height = ((side - 2 * MARGIN_MM) * CSS_PX_PER_MM for side in A4_MM)
    pdf = PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True, print_background=True)))
    viewport = page.viewport_size
    page.set_viewport_size({"width": round(width), "height": round(height)})
    page.emulate_media(media="print")
    try:
        charts = page.eval_on_selector_all(
            ".vega-embed svg",
            "svgs => svgs.filter(s => s.getClientRects().length).map(s => s.getBoundingClientRect())"
            ".map(r => [r.width, r.height])",
        )
        controls = [page.is_visible(selector) for selector in ("#company", "button[data-csv]")]
        breaks = page.eval_on_selector_all(
            ".panel, #chart-months, #chart-cohorts", "els => els.map(e => getComputedStyle(e).breakInside)"
        )
    finally:
        page.emulate_media(media="screen")
        if viewport:
            page.set_viewport_size(viewport)
    texts = [unicodedata.normalize("NFKC", p.extract_text()) for p in pdf.pages]  # "ﬁ" ligatures as "fi"
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in pdf.pages}
    return Printed(texts, sizes, [tuple(c) for c in charts], (width, height), controls, set(breaks))


def _squeezed(text: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text))


@dataclass(frozen=True)
class Walk:
    seconds: dict[str, float]  # each step, from the reader's action to the page redrawn
    views: int  # range and grain combinations shown
    pdf_pages: int


def walk(page: Page, code: str = "en") -> Walk:
    """Every step, checked (an AssertionError names the first that fails), in a page opened by `browser.opened`
    with "All companies" picked; `code`: the page's language."""
    model = page.evaluate("() => model")
    seconds: dict[str, float] = {}

    def timed(name: str, step: Callable[[], object]) -> object:
        t0 = time.perf_counter()
        out = step()
        seconds[name] = round(time.perf_counter() - t0, 3)
        return out

    timed("sort", lambda: _sort(page, model))
    timed("filter", lambda: _filter(page, model))
    timed("pick", lambda: _pick(page, model))
    views = _views(page, model, timed)
    if code != "en":
        timed("language", lambda: _language(page, code))
    pages = timed("print", lambda: _print(page, model))
    return Walk(seconds, views, pages)  # type: ignore[arg-type]


def _sort(page: Page, model: dict) -> None:
    """Each column sorts both ways, unknown figures last; names as the browser collates them (localeCompare)."""
    columns, rows = model["compare"]["columns"], model["compare"]["rows"]
    shown = [i for i, c in enumerate(columns) if not c["hidden"]]
    for position, i in enumerate(shown):
        orders = set()
        for _ in range(2):
            page.locator("#compare thead th").nth(position).click()
            order = page.locator("#compare thead th").nth(position).get_attribute("aria-sort")
            values = [rows[r][i] for r in page.eval_on_selector_all("#compare tbody tr", SHOWN_ROWS)]
            known = [v for v in values if v is not None]
            assert values[len(known) :] == [None] * (len(values) - len(known)), (columns[i]["key"], order)
            if columns[i]["kind"] == "text":
                ordered = page.evaluate("vs => vs.every((v, k) => k === 0 || vs[k - 1].localeCompare(v) <= 0)", known)
                assert ordered == (order == "ascending") or len(set(known)) < 2, (columns[i]["key"], order)
            else:
                assert known == sorted(known, reverse=order == "descending"), (columns[i]["key"], order)
            orders.add(order)
        assert orders == {"ascending", "descending"}, columns[i]["key"]


def _filter(page: Page, model: dict) -> None:
    """The filter box keeps the companies whose name holds its text, whatever the case; emptied, every one."""
    rows = model["compare"]["rows"]
    word = rows[len(rows) // 2][1].strip()[-2:].upper()
    page.fill("#compare-filter", word)
    kept = page.eval_on_selector_all("#compare tbody tr", SHOWN_ROWS)
    assert set(kept) == {r for r, row in enumerate(rows) if word.strip().lower() in row[1].lower()}, word
    assert kept and str(len(kept)) in re.sub(r"\D", "", page.inner_text("#compare-count")), word
    page.fill("#compare-filter", "")
    assert len(page.eval_on_selector_all("#compare tbody tr", SHOWN_ROWS)) == len(rows)


def _pick(page: Page, model: dict) -> None:
    """A click on a company's name picks it: its headline, its name over it, the table hidden; then back."""
    first = page.eval_on_selector_all("#compare tbody tr", SHOWN_ROWS)[0]
    cid = model["compare"]["rows"][first][0]
    company = next(c for c in model["companies"] if c["id"] == cid)
    page.click(f"#compare tbody tr[data-row='{first}'] td.pick")
    page.wait_for_function("label => document.body.dataset.picked === label", arg=company["label"])
    values = page.eval_on_selector_all("#headline .value", "vs => vs.map(v => v.textContent)")
    assert values == [f["value"] for f in company["headline"]]
    assert page.eval_on_selector("#headline-company", "e => e.textContent") == company["title"]
    assert not page.is_visible("#compare-section") and page.input_value("#company") == company["label"]
    pick(page, model["companies"][0]["label"])
    assert page.is_visible("#compare-section")


def _views(page: Page, model: dict, timed: Callable[[str, Callable[[], object]], object]) -> int:
    """Every range at every grain it offers: the points are the grain's periods reaching into the range, one
    series a figure, never two grains; a point a day only as far back as the daily points go."""
    axes, figures = model["axes"], len(model["panels"][0]["figures"])
    last = date.fromisoformat(axes["day"]["end"][-1])
    read = "() => views[0].data('points').map(r => new Date(r.t).toISOString().slice(0, 10))"
    shown, day_days = 0, int(page.get_attribute("#grain", "data-day-days") or 0)
    for range_ in RANGES:
        first = None if range_ == "all" else (last - timedelta(days=int(range_) - 1)).isoformat()
        daily = range_ != "all" and int(range_) <= day_days
        for grain in GRAINS if daily else GRAINS[1:]:

            def choose(range_: str = range_, grain: str = grain) -> list[str]:
                page.select_option("#range", range_)
                page.select_option("#grain", grain)
                page.wait_for_selector(f"body[data-view='{range_}/{grain}']")
                return page.evaluate(read)

            points = timed(f"view {range_}/{grain}", choose)
            axis = axes[grain]
            expected = [t for t, end in zip(axis["t"], axis["end"], strict=True) if first is None or end >= first]
            assert sorted(points) == sorted(expected * figures), (range_, grain)  # type: ignore[arg-type]
            assert page.is_disabled("#grain option[value=day]") != daily, (range_, grain)
            shown += 1
    page.select_option("#range", "90")
    page.select_option("#grain", "day")
    return shown


def _language(page: Page, code: str) -> None:
    """None of our English messages is left in what the page writes (API text aside), and it says its language."""
    ours = page.eval_on_selector_all(
        OUR_TEXT, "es => es.map(e => e.getAttribute('placeholder') || e.textContent).join('\\n')"
    )
    assert page.evaluate("() => document.documentElement.lang") == code
    assert not english_left(ours, code), english_left(ours, code)


def _print(page: Page, model: dict) -> int:
    """A4 pages, the chosen company's headline on the first, no control; every chart fits a page."""
    pick(page, model["companies"][-1]["label"])
    heading = page.eval_on_selector("h2:has(#headline-company)", "e => e.textContent")
    out = printed(page)
    width, height = out.printable
    assert out.sizes == {(595, 842)} and 2 <= len(out.pages) <= 10, (out.sizes, len(out.pages))  # a report
    assert _squeezed(heading)[:40] in _squeezed(out.pages[0]), (heading, out.pages[0][:300])
    button = _squeezed(page.eval_on_selector("button[data-csv]", "e => e.textContent"))
    assert not any(button in _squeezed(text) for text in out.pages) and out.controls_shown == [False, False]
    assert out.charts and all(w <= width + 1 and h <= height for w, h in out.charts), (out.charts, width, height)
    assert out.breaks == {"avoid"}  # with every chart under a page's height, chromium never cuts one
    pick(page, model["companies"][0]["label"])
    return len(out.pages)
