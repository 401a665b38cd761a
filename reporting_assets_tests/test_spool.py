"""Spool hygiene: the directory a SIGKILLed process left behind is removed when the next spool opens, and
nothing else is: not another program's files, not a live process's spool, not one just made."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from reporting_assets.warehouse.spool import PREFIX, STALE_AFTER_S, Spool

KILLED = """
import os, signal
import pandas as pd
from reporting_assets.warehouse.spool import Spool
with Spool() as spool:
    spool.add(pd.DataFrame({"x": range(1000)}))
    print(spool._dir.name, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _age(path: Path, seconds: float) -> None:
    """Make `path` look `seconds` older (by the file system's clock, as the sweep reads it)."""
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def test_the_spool_of_a_killed_process_is_removed_at_the_next_start_and_nothing_else(tmp_path: Path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    env = {**os.environ, "TMPDIR": str(root)}
    killed = subprocess.run([sys.executable, "-c", KILLED], env=env, capture_output=True, text=True, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = Path(killed.stdout.strip())
    assert left.parent == root and left.name.startswith(PREFIX) and any(left.iterdir())

    young = root / f"{PREFIX}999999999-young"  # a dead pid, but made a moment ago: kept for now
    alive = root / f"{PREFIX}{os.getpid()}-mine"  # a live process's spool
    other = root / "someone-elses-dir"
    for path in (young, alive, other):
        path.mkdir()
    for path in (left, alive, other):
        _age(path, STALE_AFTER_S + 60)

    monkeypatch.setattr(tempfile, "tempdir", str(root))
    with Spool() as spool:
        spool.add(pd.DataFrame({"x": [1]}))
        mine = Path(spool._dir.name)
        assert mine.name.startswith(f"{PREFIX}{os.getpid()}-")
    assert not left.exists() and not mine.exists()
    assert young.exists() and alive.exists() and other.exists()
