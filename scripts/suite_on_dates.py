"""The suite on other days than today: each run starts the test session with the clock moved (libfaketime,
Debian's `faketime` package: every process it starts, `dagster dev` and chromium included, sees that clock,
which then runs on). A test that holds today but not on some other day shows up here.

`python scripts/suite_on_dates.py [--dates D,D,...] [pytest arguments]`; a date may carry a time
(`2026-12-31T23:58:30`, to cross midnight and a year during the run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
# Partition counts ending in 7 (the UI's "N partitions"), a Monday at the digest hour, the ends of months and
# years, a leap day, midnight passing during the run, and days long after the first partition.
DATES = (
    "2026-11-29T04:00:00,2027-01-07T12:00:00,2026-12-31T23:58:30,2027-02-28T23:59:00,2028-02-29T12:00:00,"
    "2027-03-01T07:00:00,2027-06-14T06:30:00,2026-12-06T09:05:00,2029-01-01T00:00:30,2030-07-17T18:00:00"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dates", default=DATES, help="comma-separated ISO dates or date-times (UTC)")
    args, pytest_args = parser.parse_known_args()
    if not LIBRARY.exists():
        raise SystemExit(f"{LIBRARY} is missing: apt-get install faketime")
    failed = []
    for moment in args.dates.split(","):
        stamp = moment.replace("T", " ") if "T" in moment else f"{moment} 12:00:00"
        # An offset from the real clock: every process of the run, whenever it starts, sees the same moved time.
        offset = datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() - time.time()
        env = {**os.environ, "LD_PRELOAD": str(LIBRARY), "FAKETIME": f"{offset:+.0f}"}
        started = time.monotonic()
        result = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", *pytest_args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        summary = [line for line in result.stdout.splitlines() if " passed" in line or " failed" in line]
        print(f"{stamp}: {summary[-1] if summary else 'no summary'} ({time.monotonic() - started:.0f} s)", flush=True)
        if result.returncode:
            failed.append(stamp)
            print("\n".join(line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))))
    print(f"{len(failed)} of {len(args.dates.split(','))} dates failed" + (f": {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
