"""Run every test suite, each in its own pytest process, and print one closing line.

Each service is its own program with its own tables, so its tests run in a process of
their own, as the service does; the end-to-end suite runs last, against the real platform.
"""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = [
    ("common", "libs/common/tests"),
    ("catalog", "services/catalog/tests"),
    ("booking", "services/booking/tests"),
    ("payments", "services/payments/tests"),
    ("notifications", "services/notifications/tests"),
    ("web", "services/web/tests"),
    ("infrastructure", "ops/tests"),
    ("end-to-end", "tests/e2e"),
]


def main(argv: list[str]) -> int:
    results = ROOT / ".local" / "test-results"
    results.mkdir(parents=True, exist_ok=True)
    wanted = set(argv) or {name for name, _ in SUITES}
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    failed_suites = []
    for name, path in SUITES:
        if name not in wanted or not (ROOT / path).exists():
            continue
        print(f"\n=== {name}: {path}", flush=True)
        report = results / f"{name}.xml"
        report.unlink(missing_ok=True)
        started = time.monotonic()
        code = subprocess.call(  # noqa: S603 - fixed arguments
            [sys.executable, "-m", "pytest", "-q", path, f"--junitxml={report}"], cwd=ROOT
        )
        counts = _counts(report)
        for key in totals:
            totals[key] += counts[key]
        print(f"=== {name}: {counts} in {time.monotonic() - started:.0f}s", flush=True)
        if code != 0:
            failed_suites.append(name)
    summary = f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped"
    if failed_suites:
        print(f"\nfailing suites: {', '.join(failed_suites)}")
    print(f"\ncomptoir: {summary}")
    return 1 if failed_suites or totals["passed"] == 0 else 0


def _counts(report: Path) -> dict[str, int]:
    if not report.exists():
        return {"passed": 0, "failed": 1, "skipped": 0}
    suite = ET.parse(report).getroot()  # noqa: S314 - our own pytest report
    if suite.tag == "testsuites":
        suite = suite[0]
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return {"passed": tests - skipped - failed, "failed": failed, "skipped": skipped}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
