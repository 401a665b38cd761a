"""The one redactor: every text that can reach a person or a log (settings errors, the doctor's lines, run-failure
messages, `repr(Settings)`, printed locations) goes through it before it is shown.

It replaces the values it was given as secrets (and each entry of a comma-separated list of them) with `***`,
and the password of every URL in the text (`scheme://user:password@host` → `scheme://user:***@host`), so a DSN,
a broker URL or an `sftp://` location is safe to print even when nobody declared it secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

MASK = "***"
SHORTEST_SECRET = 4  # shorter values would mask ordinary words
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#@]*)@")


def mask_urls(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (`scheme://user:***@host`; a userinfo
    without a colon is a token: `scheme://***@host`). A password already masked (`****`) stays as it is."""

    def masked(match: re.Match[str]) -> str:
        user, colon, password = match["userinfo"].partition(":")
        if colon and password.strip("*") == "":
            return match[0]
        return f"{match['scheme']}{user}:{MASK}@" if colon else f"{match['scheme']}{MASK}@"

    return _USERINFO.sub(masked, text)


class MaskedRepr:
    """For pydantic models (settings, resources): `repr` and `str` show the fields of `SECRET_FIELDS` as `***`
    and no URL's password, so that a secret never reaches a log or an error through a printed object."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():  # type: ignore[misc]
            if name in self.SECRET_FIELDS and value:
                yield name, MASK
            else:
                yield name, mask_urls(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Redactor:
    """Masks `secrets` and every URL's credentials in a text; `Redactor.of(values)` collects the secrets."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str | None]) -> Redactor:
        """A redactor of `values`: each whole value, each entry of a comma-separated list, and each URL's userinfo
        (so a password is masked even where an error quotes it alone)."""
        found: set[str] = set()
        for value in values:
            for piece in [value or "", *(value or "").split(",")]:
                piece = piece.strip()
                found.add(piece)
                for match in _USERINFO.finditer(piece):
                    user, colon, password = match["userinfo"].partition(":")
                    found.add(password if colon else user)  # a lone userinfo is a token
        return cls(tuple(sorted((s for s in found if len(s) >= SHORTEST_SECRET), key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return mask_urls(text)

    def __repr__(self) -> str:
        return f"Redactor({len(self.secrets)} secrets)"
