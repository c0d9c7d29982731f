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


@pytest.fixture
def record_figure(figures, request):
    """`record_figure(name, value, unit="")`: one measured figure of this test."""

    def record(name: str, value, unit: str = "") -> None:
        entry = figures.setdefault(request.node.nodeid, {})
        entry[name] = {"value": value, "unit": unit}
        print(f"figure: {name} = {value}{(' ' + unit) if unit else ''}")

    return record
