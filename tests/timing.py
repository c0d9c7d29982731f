"""A pytest plugin: at the end of a run, one line per test file with the time it took.

pytest's `--durations` names the slowest tests, but not where a run's minutes went by file, which
is what tells you which file to leave out while working (`make test-quick`). Wall times are the
sums of each test's setup, call and teardown, so a module-scoped fixture counts towards its file.
The CPU column (this process and the processes it started and reaped: workers, gunicorn,
ffmpeg) tells a busy shared machine from a slow test: on an idle machine a file takes about its
CPU time or less.
"""

from __future__ import annotations

import resource
from collections import defaultdict

import pytest

WALL = defaultdict(float)
CPU = defaultdict(float)
COUNTS = defaultdict(int)
_started: dict[str, float] = {}


def _cpu_seconds() -> float:
    """CPU seconds used so far by this process and its reaped children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """CPU time from a test's setup to the end of its teardown, added to its file."""
    before = _cpu_seconds()
    yield
    CPU[item.nodeid.split("::", 1)[0]] += _cpu_seconds() - before


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Adds each phase's time to the test's file; counts a test once, at its call."""
    path = report.nodeid.split("::", 1)[0]
    WALL[path] += report.duration
    if report.when == "call" or (report.when == "setup" and report.skipped):
        COUNTS[path] += 1


def pytest_terminal_summary(terminalreporter) -> None:
    """The files, slowest first, then the total."""
    if not WALL:
        return
    terminalreporter.section("time per test file")
    width = max(len(path) for path in WALL)
    for path, seconds in sorted(WALL.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{path:<{width}}  {seconds:8.1f} s  (CPU {CPU[path]:7.1f} s)"
                                    f"  {COUNTS[path]:4d} tests")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(WALL.values()):8.1f} s  "
                                f"(CPU {sum(CPU.values()):7.1f} s)  {sum(COUNTS.values()):4d} tests")
