"""The doctor's command: every check, one line each, and a summary; exit code 0 only when all pass."""

import argparse
from datetime import date
from pathlib import Path

import reporting_assets.doctor
from reporting_assets.doctor.checks import checks, language


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
    lang = language()
    for check in found:
        print(check.line(lang))
    failed = sum(not c.ok for c in found)
    if failed:
        summary = lang.gettext("{passed} passed, {failed} failed")
    else:
        summary = lang.gettext("{passed} passed, {failed} failed: ready for a first run")
    print(summary.format(passed=len(found) - failed, failed=failed))
    return 1 if failed else 0
