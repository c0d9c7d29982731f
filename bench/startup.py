"""Benchmark: how long the `narrator` command takes before it answers, and what loads lazily.

Every figure is the median wall time of fresh processes (the import cache of the OS is warm after
the first run, as it is for a user typing commands). Targets (issue 14): `narrator --help`
< 0.5 s, `narrator voices` < 1 s. Also shown: the first normalization in a process, which pays
for the number tables (inflect) once, and the second one, which must not. Prints a table and
writes docs/performance.md (section "Start-up").

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.narrate_sample import write_section  # noqa: E402  (one section writer for all reports)

COMMANDS = {
    "narrator --help": ["-m", "cli", "--help"],
    "narrator voices": ["-m", "cli", "voices"],
}
TARGETS = {"narrator --help": 0.5, "narrator voices": 1.0}
# A sentence with a number, an ordinal and an acronym: it touches every lazily loaded table.
SENTENCE = "The 2nd act of the 1,204-minute BBC film costs $12.50 in 2013."
FIRST_USE = """
import json, time
started = time.perf_counter()
from narration.normalize import normalize
imported = time.perf_counter()
normalize({sentence!r})
first = time.perf_counter()
normalize({sentence!r}.replace("2nd", "3rd"))
second = time.perf_counter()
print(json.dumps({{"import": imported - started, "first": first - imported,
                  "second": second - first}}))
"""


def time_command(arguments: list[str], runs: int) -> float:
    """Median seconds from spawning `python -m cli …` to its exit."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, *arguments], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def time_first_use(runs: int) -> dict[str, float]:
    """Medians of importing the normalizer, its first call and its second call, in fresh processes."""
    samples = [json.loads(subprocess.run(
        [sys.executable, "-c", FIRST_USE.format(sentence=SENTENCE)], cwd=ROOT, check=True,
        capture_output=True, text=True).stdout) for _ in range(runs)]
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per figure (default 5)")
    args = parser.parse_args()
    time_command(COMMANDS["narrator --help"], 1)  # warm the OS file cache once
    commands = {name: time_command(arguments, args.runs) for name, arguments in COMMANDS.items()}
    first_use = time_first_use(args.runs)
    report = render_report(commands, first_use, args.runs)
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Start-up", report)


def render_report(commands: dict[str, float], first_use: dict[str, float], runs: int) -> str:
    load = os.getloadavg()[0]
    lines = [f"Median of {runs} fresh processes each (`python bench/startup.py`), at a load "
             f"average of {load:.1f} on {os.cpu_count()} cores.", "",
             "| what | time | target |", "|---|---|---|"]
    for name, seconds in commands.items():
        target = TARGETS[name]
        verdict = "met" if seconds < target else "NOT met"
        lines.append(f"| `{name}` | {seconds:.2f} s | < {target} s ({verdict}) |")
    lines += [
        f"| `import narration.normalize` | {first_use['import'] * 1000:.0f} ms | |",
        f"| first `normalize()` in a process (loads inflect's tables once) | "
        f"{first_use['first'] * 1000:.0f} ms | |",
        f"| second `normalize()` | {first_use['second'] * 1000:.1f} ms | |",
        "",
        "Each command imports only its own module (cli/main.py), and the number words' tables "
        "(inflect, about 2 s to import) load on the first number a process speaks, once. Before "
        "(issue 14) every command imported everything: 4.4 s for `--help` and for `voices`.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
