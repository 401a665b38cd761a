"""Our messages as `make messages` extracts them (Python and the template, `locales/babel.cfg`), and the check
that a text in another language has none of our English left."""

from __future__ import annotations

import re
from functools import cache

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from reporting_assets.i18n import Language, catalog_path

PACKAGE = catalog_path("fr").parents[3]  # reporting_assets/


@cache
def source() -> frozenset[str]:
    """Every message of the source."""
    with (PACKAGE / "locales" / "babel.cfg").open() as mapping:
        methods, _ = parse_mapping_cfg(mapping)
    return frozenset(m for _, _, m, *_ in extract_from_dir(PACKAGE, methods) if isinstance(m, str))


def english_left(text: str, code: str) -> list[str]:
    """Our English messages (their words between placeholders) still in `text`: each one the catalog translates
    differently must be gone."""
    lang, left = Language(code), []
    for message in source():
        translated = lang.gettext(message)
        if translated == message:
            continue  # the same in both ("{company} ({id})", "sessions" in French)
        words = [w for w in re.split(r"\{[^}]*\}", message) if len(w.strip()) > 3 and w not in translated]
        left += [w for w in words if w in text]
    return left
