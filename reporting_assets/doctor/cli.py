"""The doctor's command: every check, one line each, and a summary; exit code 0 only when all pass."""

import argparse
from datetime import date
from pathlib import Path

import reporting_assets.doctor
from reporting_assets.doctor.checks import checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reporting_assets.doctor",
        description=reporting_assets.doctor.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--save-samples", type=Path, metavar="DIR", help="write each endpoint's payload, redacted")
    parser.add_argument("--test-notification", action="store_true", help="send a test message to every channel")
    parser.add_argument("--day", type=date.fromisoformat, help="day asked of each endpoint (default: yesterday)")
    args = parser.parse_args(argv)
    found = checks(day=args.day, samples=args.save_samples, test_notification=args.test_notification)
    for check in found:
        print(check.line())
    failed = sum(not c.ok for c in found)
    print(f"{len(found) - failed} passed, {failed} failed" + ("" if failed else ": ready for a first run"))
    return 1 if failed else 0
