"""A pytest plugin: at the end of a run, one line per test file with the time it took.

pytest's `--durations` names the slowest tests, but not where a run's minutes went by file, which
is what tells you which file to leave out while working (`make test-quick`). Times are the sums of
each test's setup, call and teardown, so a module-scoped fixture counts towards its file.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

SECONDS = defaultdict(float)
COUNTS = defaultdict(int)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Adds each phase's time to the test's file; counts a test once, at its call."""
    path = report.nodeid.split("::", 1)[0]
    SECONDS[path] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        COUNTS[path] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    """The files, slowest first, then the total."""
    if not SECONDS:
        return
    terminalreporter.section("time per test file")
    width = max(len(path) for path in SECONDS)
    for path, seconds in sorted(SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{path:<{width}}  {seconds:8.1f} s  {COUNTS[path]:4d} tests")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(SECONDS.values()):8.1f} s  "
                                f"{sum(COUNTS.values()):4d} tests")
