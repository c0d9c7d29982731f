"""Regenerate docs/reliability.md: run the reliability tests and report what they measured.

The figures (trial counts, latencies, memory) are recorded by the tests themselves through the
`record_figure` fixture (tests/figures.py), so this report and CI check the same runs. The load
scenario runs at full scale here (NARRATOR_LOAD_JOBS, default 500 jobs for the memory figure).

    .venv/bin/python bench/reliability.py [--jobs 500] [-k EXPRESSION]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "reliability.md"
SECTIONS = (
    ("Faults", "Workers killed, Redis and the web process restarted, the media store failing; "
               "also on PostgreSQL and S3 (SeaweedFS).",
     ("tests/test_faults.py", "tests/test_faults_storage.py")),
    ("Across hosts", "The Procfile deployment on seven hosts, each a network namespace on one "
                     "private bridge: the web process, two worker hosts, Redis, PostgreSQL, "
                     "SeaweedFS (S3) and a client, as in [deploy.md](deploy.md). Jobs go in "
                     "through the HTTP API; while worker-a speaks a chapter its link goes down "
                     "(its packets vanish), the watchdog on worker-b re-queues the silent job "
                     "and worker-b finishes every job; then the link comes back. Each job must "
                     "end done with one MP3 that ffmpeg decodes to its length and one feed "
                     "episode, and nothing in the bucket, the job and feed rows, the MP3s or "
                     "the feed may change once worker-a is back. The time from the cut to the "
                     "last job done is the stall timeout, up to half of it again until the "
                     "watchdog's next check, and the work left for one host.",
     ("tests/test_multihost.py",)),
    ("Load", "Many clients and many jobs against real worker processes.",
     ("tests/test_load.py",)),
    ("Bad input", "Generated requests over the whole OpenAPI document, property tests of the "
                  "core, and a corpus of nasty inputs.",
     ("tests/test_openapi.py", "tests/test_properties.py", "tests/test_nasty_inputs.py")),
    ("Security", "Keys, private feed tokens, isolation between users on every route, rate "
                 "limits and quotas, headers, secrets kept out of logs; what one hostile key or "
                 "a neighbour on the host could do (issue 12), tried against real gunicorn.",
     ("tests/test_feed_privacy.py", "tests/test_limits.py", "tests/test_users.py",
      "tests/test_hardening.py", "tests/test_file_modes.py", "tests/test_sentence_cache.py")),
)
KEPT_START = "<!-- written by hand: bench/reliability.py keeps this block as it is -->"
KEPT_END = "<!-- end of the hand-written block -->"
"""Markers of the attacks table in the Security section, which a person writes and updates."""


def run_tests(files: list[str], jobs: int, expression: str | None) -> tuple[dict, dict, float]:
    """Run pytest on the files; (figures by test id, outcome by test id, wall seconds)."""
    with tempfile.TemporaryDirectory() as folder:
        figures_file, junit = Path(folder) / "figures.json", Path(folder) / "junit.xml"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                   f"--junitxml={junit}", *files] + (["-k", expression] if expression else [])
        env = {**os.environ, "NARRATOR_FIGURES_FILE": str(figures_file),
               "NARRATOR_LOAD_JOBS": str(jobs)}
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, env=env, check=False)
        elapsed = time.monotonic() - started
        figures = json.loads(figures_file.read_text()) if figures_file.exists() else {}
        outcomes = read_outcomes(junit)
    return figures, outcomes, elapsed


def read_outcomes(junit: Path) -> dict[str, str]:
    """passed / failed / skipped (with reason) per test, from pytest's JUnit XML."""
    outcomes = {}
    if not junit.exists():
        return outcomes
    for case in ET.parse(junit).iter("testcase"):
        test_id = node_id(case.get("classname", ""), case.get("name", ""))
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[test_id] = "FAILED"
        elif (skipped := case.find("skipped")) is not None:
            outcomes[test_id] = f"skipped ({skipped.get('message', '')[:120]})"
        else:
            outcomes[test_id] = "passed"
    return outcomes


def node_id(classname: str, name: str) -> str:
    """pytest's node id from JUnit's dotted classname: the module's file, then any class."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        module = Path(*parts[:cut]).with_suffix(".py")
        if (ROOT / module).exists():
            return "::".join([module.as_posix(), *parts[cut:], name])
    return f"{classname}::{name}"


def kept_block(previous: str) -> str:
    """The hand-written block of the report as it stands (markers included), or ""."""
    start, end = previous.find(KEPT_START), previous.find(KEPT_END)
    return previous[start:end + len(KEPT_END)] if 0 <= start < end else ""


def render(figures: dict, outcomes: dict, elapsed: float, jobs: int, kept: str = "") -> str:
    """The whole report; `kept` (the hand-written block) opens the Security section."""
    passed = sum(o == "passed" for o in outcomes.values())
    lines = [
        "# Reliability",
        "",
        f"Generated by `.venv/bin/python bench/reliability.py --jobs {jobs}` on "
        f"{time.strftime('%Y-%m-%d')} (2 cores, Python {sys.version.split()[0]}): "
        f"{len(outcomes)} tests, {passed} passed, in {elapsed / 60:.1f} min. Every figure below is "
        "recorded by the test named beside it; rerun one with "
        "`.venv/bin/python -m pytest 'TEST ID'`. The same tests run in CI (`make test`), with "
        "the load scenario at its CI size.",
    ]
    for title, summary, files in SECTIONS:
        lines += ["", f"## {title}", "", summary]
        if title == "Security" and kept:
            lines += ["", kept]
        lines += ["", "| test | outcome | figures |", "|---|---|---|"]
        for test_id, outcome in outcomes.items():
            if not test_id.startswith(files):
                continue
            measured = figures.get(test_id, {})
            text = "; ".join(f"{name} = {format_value(entry)}" for name, entry in measured.items())
            lines.append(f"| `{test_id}` | {outcome} | {text} |")
    return "\n".join(lines) + "\n"


def format_value(entry: dict) -> str:
    """A figure with its unit; floats to three significant places."""
    value, unit = entry["value"], entry.get("unit", "")
    shown = f"{value:.3g}" if isinstance(value, float) else str(value)
    return f"{shown} {unit}".strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=500, help="jobs in the worker-memory scenario")
    parser.add_argument("-k", dest="expression", help="only tests matching (pytest -k)")
    args = parser.parse_args()
    files = [name for _, _, names in SECTIONS for name in names if (ROOT / name).exists()]
    figures, outcomes, elapsed = run_tests(files, args.jobs, args.expression)
    previous = REPORT.read_text() if REPORT.exists() else ""
    report = render(figures, outcomes, elapsed, args.jobs, kept_block(previous))
    REPORT.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
