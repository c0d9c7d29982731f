"""Benchmark: render podcast feeds of 1, 100 and 1000 episodes, and the conditional-GET (304) cost.

Medians of several runs in one process (time.perf_counter). Prints a table and writes
docs/performance.md (section "Feeds"). Target: 1000 episodes in under 200 ms.

    .venv/bin/python bench/feed.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.narrate_sample import DEFAULT_SAMPLE, write_section  # noqa: E402
from narration.feed import etag_matches, feed_etag, render_feed  # noqa: E402
from narration.feed_model import EpisodeInfo, FeedInfo  # noqa: E402

SIZES = (1, 100, 1000)
TARGET_MS = 200.0
BASE = "https://narrator.example"


def sample_feed() -> FeedInfo:
    """A private feed as the service will describe it."""
    return FeedInfo(
        title="Ann's narrations", description="Reviews and articles, read aloud.", link=BASE + "/",
        self_url=f"{BASE}/feeds/{'k' * 43}.xml", language="en", author="Ann Example",
        owner_name="Ann Example", owner_email="ann@example.org", category="Arts/Books",
        image_url=BASE + "/feeds/cover.png")


def sample_episodes(count: int) -> list[EpisodeInfo]:
    """`count` episodes with every field set; descriptions are the sample review's opening."""
    opening = (DEFAULT_SAMPLE.read_text(encoding="utf-8")[:600] if DEFAULT_SAMPLE.exists()
               else "A review of a film about love, loneliness & software. " * 10)
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    episodes = []
    for number in range(1, count + 1):
        base = f"{BASE}/narrations/{number:08x}"
        episodes.append(EpisodeInfo(
            guid=f"urn:uuid:00000000-0000-4000-8000-{number:012x}",
            title=f"Review #{number}: “Her” — <love> & \"AI\"", description=opening,
            published=start + timedelta(hours=number), enclosure_url=base + "/audio.mp3",
            enclosure_length=12_000_000 + number, duration=1268.3, episode_number=number,
            image_url=base + "/cover.jpg", chapters_url=base + "/chapters.json",
            transcript_url=base + "/transcript.vtt", link=f"https://reviews.example/{number}"))
    return episodes


def median_ms(action, runs: int) -> float:
    """Median wall time of `action()` in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    """Measure, print the report and write it into docs/performance.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    feed = sample_feed()
    rows = []
    for size in SIZES:
        episodes = sample_episodes(size)
        data = render_feed(feed, episodes)
        rows.append({"size": size, "kb": len(data) / 1024,
                     "render": median_ms(lambda: render_feed(feed, episodes), args.runs),
                     "etag": median_ms(lambda: feed_etag(data), args.runs * 10)})
    biggest = render_feed(feed, sample_episodes(SIZES[-1]))
    etag = feed_etag(biggest)
    # What a poll with a current ETag costs once the bytes are at hand: hash, compare, answer 304.
    not_modified = median_ms(lambda: etag_matches(etag, feed_etag(biggest)), args.runs * 10)
    report = render_report(rows, not_modified, args.runs)
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Feeds", report)


def render_report(rows: list[dict], not_modified: float, runs: int) -> str:
    """The Markdown section: one row per feed size, then the 304 path."""
    lines = [
        f"`narration.feed.render_feed` measured by `bench/feed.py` ({time.strftime('%Y-%m-%d')}, "
        f"2 cores, Python {sys.version.split()[0]}, stdlib ElementTree). Median of {runs} runs; "
        f"every episode has all fields and a 600-character description.",
        "",
        f"| episodes | feed size (KB) | render (ms, target 1000 < {TARGET_MS:.0f}) | "
        "ETag of the bytes (ms) | render + ETag (ms) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['size']} | {row['kb']:.1f} | {row['render']:.2f} | "
                     f"{row['etag']:.3f} | {row['render'] + row['etag']:.2f} |")
    biggest = rows[-1]
    verdict = "meets" if biggest["render"] < TARGET_MS else "MISSES"
    lines += [
        "",
        f"Conditional GET of the {biggest['size']}-episode feed when its bytes are at hand "
        f"(hash, compare with If-None-Match, answer 304): {not_modified:.3f} ms. When they are "
        f"not, the 304 path costs a render plus the hash ({biggest['render'] + biggest['etag']:.1f}"
        f" ms). The {biggest['size']}-episode render {verdict} the {TARGET_MS:.0f} ms target.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
