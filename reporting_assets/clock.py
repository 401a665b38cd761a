"""The wall clock, in one place so that every builder can take another one (tests pin the day they run on)."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
