"""The shared hostile corpus: text the API could send as a company name, a tool name, a document title or a file
name. Every way out is tested with it (`test_hostile.py`); `companies()` serves it through the simulator."""

from __future__ import annotations

from reporting_assets.simulator.data import Company

CORPUS = {
    "html": '</script><img src=x onerror="window.pwned=1">Evil & Co',
    "markdown": "[click](https://evil.example/) ![pixel](https://evil.example/x.png)",
    "formula": '=HYPERLINK("https://evil.example","x")',
    "dde": "+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1 tabbed",
    "cr": "\r=1+1 carriage",
    "pipes": "pipe | and `backticks` | here",
    "newlines": "line one\nline two\r\n[FIRING] forged alert",
    "separators": "Sep\u2028[FIRING] forged line\u2029para\x85next\x0bvertical\x0cfeed",
    "spaced": " \t =1+1 after blanks",
    "fullwidth": '\uff1dHYPERLINK("https://evil.example","x")',
    "nul": "NUL\x00inside",
    "rtl": "RTL \u202egnp.exe",
    "long": "L" * 10_000,
    "unicode": "Société Générale 😀 e\u0301 ß 東京",
}
# What the warehouse keeps of each: the text as sent, but a NUL (which PostgreSQL's TEXT cannot hold) as U+FFFD.
STORED = {key: text.replace("\x00", "\ufffd") for key, text in CORPUS.items()}
FIRST_ID = 901
SECRET = "hunter2-Pa55"  # a password in the hostile settings values: no output may show it


def companies() -> tuple[Company, ...]:
    """One company per corpus entry, named by it, using a tool and titling its documents by it too."""
    return tuple(
        Company(FIRST_ID + i, text, users=12, documents=2, tools=(text, "web_search"), titles=(text,))
        for i, text in enumerate(CORPUS.values())
    )


def org_file(site: str | None = None) -> str:
    """An org file (`;`) putting each hostile company's users in one department named by its text (as stored),
    and, given `site`, all of them in that site."""
    import csv
    import io

    out = io.StringIO()
    rows = csv.writer(out, delimiter=";", lineterminator="\n")
    more = [site] if site else []
    rows.writerow(["user_id", "company_id", "department", *(["site"] if site else [])])
    for company in companies():
        name = company.name.replace("\x00", "\ufffd")
        rows.writerows([company.id * 1000 + k, company.id, name, *more] for k in range(1, company.users + 1))
    return out.getvalue()
