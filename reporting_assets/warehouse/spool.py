"""Frames parked on local disk until they are written together: memory holds one at a time, not the range.

A run fetches (or computes) its range window by window into a spool, then writes every window in one short
transaction (`Warehouse.replace`). Holding the transaction open while the API answers would keep SQLite's only
write lock for minutes and make the other steps' writes time out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from reporting_assets.lazy import pandas as pd


class Spool:
    """An append-only sequence of frames in a private temporary directory, removed on exit."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="paradigm-spool-")
        self._paths: list[Path] = []
        self.rows = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()

    def add(self, frame: pd.DataFrame) -> None:
        path = Path(self._dir.name) / f"{len(self._paths)}.pkl"
        frame.to_pickle(path)
        self._paths.append(path)
        self.rows += len(frame)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """The frames in the order they were added, read back one at a time."""
        for path in self._paths:
            yield pd.read_pickle(path)  # our own file, written above
