"""Text from the API (company names, tool names, document titles) made harmless for each way out.

The API's text is untrusted: it may hold markup, markdown links, spreadsheet formulas, newlines, NUL, right-to-left
overrides or 10,000 characters. Each output neutralises it for its own format:

| way out | where | how |
|---|---|---|
| plain text (messages, logs, doctor) | `plain` | one line: controls and bidi overrides replaced, long text cut |
| Dagster markdown metadata | `markdown`, `markdown_table` | `plain`, then HTML and markdown punctuation escaped |
| HTML dashboard | Jinja2 autoescape, `textContent` in dashboard.js | never inserted as markup |
| CSV downloads | `csvValue` in dashboard.js | `= + - @` (full-width too) after blanks, leading tab, CR: defused |
| notifications | `Notifier.send` | sent as plain text: apprise escapes it for HTML e-mail and markdown chats |

CSV cells are defused as OWASP says (a leading apostrophe), quoted as RFC 4180 says, after a BOM. The warehouse
keeps the text exactly as the API gave it: it is data, and round-trips there.
"""

from __future__ import annotations

import re
import unicodedata

from reporting_assets.lazy import pandas as pd

LONGEST = 200  # characters of one name shown in a message or a table cell
_BREAKS = ("Cc", "Zl", "Zp")  # controls (newlines, VT, FF, NEL U+0085, NUL...), U+2028, U+2029
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")  # embeddings, overrides, isolates, marks
# what could make a link, an image, a code span, a tag, an autolink or a table column (emphasis runs nothing)
_MARKDOWN = re.compile(r"([\\`\[\]()<>!|:])")


def plain(text: object, longest: int = LONGEST) -> str:
    """`text` as one inert line: control characters (newlines, VT, FF, NEL, NUL...) and the Unicode line and
    paragraph separators (U+2028, U+2029) become spaces, bidirectional overrides are
    dropped (they would reorder the line around them), and past `longest` characters it is cut with "…"."""
    value = "" if text is None else str(text)
    value = "".join(" " if unicodedata.category(c) in _BREAKS else c for c in _BIDI.sub("", value))
    return value if len(value) <= longest else value[: longest - 1] + "…"


def markdown(text: object, longest: int = LONGEST) -> str:
    """`text` for a markdown cell or line: `plain`, and every character markdown or HTML could act on escaped, so
    that it can make no link, image, code span, table column or tag."""
    return _MARKDOWN.sub(r"\\\1", plain(text, longest)).replace("&", "&amp;")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of `frame` whose text cells (column names too) are escaped, and whose
    missing values are empty cells (never NaN, <NA> or None)."""
    shown = frame.astype(object).where(frame.notna(), "")
    for column in shown.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            shown[column] = shown[column].map(markdown)
    shown.columns = [markdown(c) for c in shown.columns]
    return shown.to_markdown(index=False)
