"""Figures the reliability tests measure (trial counts, latencies, memory), for the report.

Tests call the `record_figure` fixture; the figures of a run are written as JSON to the file
named by NARRATOR_FIGURES_FILE when it is set. `bench/reliability.py` runs those tests with it
set and turns the JSON into docs/reliability.md, so the report shows what the CI tests measure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

FIGURES_FILE = "NARRATOR_FIGURES_FILE"


@pytest.fixture(scope="session")
def figures():
    """Every figure recorded in this session, by test; written out at the end."""
    collected: dict[str, dict] = {}
    yield collected
    target = os.environ.get(FIGURES_FILE)
    if target and collected:
        Path(target).write_text(json.dumps(collected, indent=2, sort_keys=True))


class FigureRecorder:
    """Records figures under one test's id; `add` counts (e.g. generated requests)."""

    def __init__(self, figures: dict, test_id: str):
        self.entry = figures.setdefault(test_id, {})

    def __call__(self, name: str, value, unit: str = "") -> None:
        """One measured figure of this test."""
        self.entry[name] = {"value": value, "unit": unit}
        print(f"figure: {name} = {value}{(' ' + unit) if unit else ''}")

    def add(self, name: str, amount: int = 1, unit: str = "") -> None:
        """Add to a count (the figure starts at 0)."""
        current = self.entry.get(name, {"value": 0})["value"]
        self.entry[name] = {"value": current + amount, "unit": unit}


@pytest.fixture
def record_figure(figures, request) -> FigureRecorder:
    """`record_figure(name, value, unit="")`: one measured figure of this test."""
    return FigureRecorder(figures, request.node.nodeid)
