"""Prints one closing line, `N passed, N failed, N skipped`, from Pants' JUnit XML reports."""

from __future__ import annotations

import sys
from pathlib import Path
from xml.etree import ElementTree


def summarize(reports: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for report in sorted(reports.rglob("*.xml")):
        # Reports Pants just wrote on this machine, not untrusted input.
        for case in ElementTree.parse(report).getroot().iter("testcase"):  # noqa: S314
            outcomes = {child.tag for child in case}
            if outcomes & {"failure", "error"}:
                failed += 1
            elif "skipped" in outcomes:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main() -> int:
    passed, failed, skipped = summarize(Path(sys.argv[1]))
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
