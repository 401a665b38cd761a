"""Integer settings from the environment, checked at load so a typo fails with its name, not a traceback."""

from __future__ import annotations

import os


def env_int(name: str, default: int, low: int, high: int) -> int:
    """`name` as an integer within [low, high], `default` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return int(raw)
