"""Our messages as `make messages` extracts them (Python and the template, `locales/babel.cfg`), and the check
that a text in another language has none of our English left."""

from __future__ import annotations

import re
from functools import cache

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from reporting_assets.i18n import Language, catalog_path

PACKAGE = catalog_path("fr").parents[3]  # reporting_assets/


KEYWORDS = {**DEFAULT_KEYWORDS, "NP_": (1, 2)}  # as `make messages` extracts them


@cache
def _extracted() -> tuple[str | tuple[str, str], ...]:
    with (PACKAGE / "locales" / "babel.cfg").open() as mapping:
        methods, _ = parse_mapping_cfg(mapping)
    return tuple(m for _, _, m, *_ in extract_from_dir(PACKAGE, methods, keywords=KEYWORDS))


def source() -> frozenset[str]:
    """Every message of the source without a count."""
    return frozenset(m for m in _extracted() if isinstance(m, str))


def plurals() -> frozenset[tuple[str, str]]:
    """Every message with a count: (singular, plural)."""
    return frozenset(tuple(m[:2]) for m in _extracted() if not isinstance(m, str))


def english_left(text: str, code: str) -> list[str]:
    """Our English messages (their words between placeholders) still in `text`: each one the catalog translates
    differently must be gone."""
    lang, left = Language(code), []
    forms = [(m, lang.gettext(m)) for m in source()]
    forms += [(m, lang.ngettext(*pair, n)) for pair in plurals() for m, n in zip(pair, (1, 2), strict=True)]
    for message, translated in forms:
        if translated == message:
            continue  # the same in both ("{company} ({id})", "sessions" in French)
        words = [w for w in re.split(r"\{[^}]*\}", message) if len(w.strip()) > 3 and w not in translated]
        left += [w for w in words if w in text]
    return left
