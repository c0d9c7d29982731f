"""Regenerating docs/reliability.md keeps its hand-written attacks table (bench/reliability.py)."""

from pathlib import Path

from bench.reliability import KEPT_END, KEPT_START, REPORT, kept_block, render


def test_regenerating_the_report_keeps_the_hand_written_block():
    current = Path(REPORT).read_text()
    block = kept_block(current)
    assert block.startswith(KEPT_START) and block.endswith(KEPT_END) and "Attacks tried" in block
    again = render({}, {"tests/test_hardening.py::test_x": "passed"}, 60.0, 500, block)
    security = again[again.index("## Security"):]
    assert block in security and security.index(block) < security.index("| test | outcome |")
    assert kept_block(again) == block  # and the next run finds it again
