"""Benchmark: podcast feeds of 1, 100 and 1000 episodes, rendered alone and served over HTTP,
and the conditional GET (304) podcast apps make when nothing changed.

Two layers, side by side in one run: `render_feed` on ready-made records (the pure core), and
`GET /feeds/{token}.xml` through the Flask app on a real SQLite database holding that many
finished narrations (query + records + render), plus the same GET with a current If-None-Match.
Medians of several runs (time.perf_counter). Writes docs/performance.md (section "Feeds").
Target: a 1000-episode feed renders in under 200 ms.

    .venv/bin/python bench/feed.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.narrate_sample import DEFAULT_SAMPLE, write_section  # noqa: E402
from narration.feed import render_feed  # noqa: E402
from narration.feed_model import EpisodeInfo, FeedInfo  # noqa: E402

SIZES = (1, 100, 1000)
TARGET_MS = 200.0
BASE = "https://narrator.example"


def opening_text() -> str:
    """A 600-character description, as a review's opening gives one."""
    return (DEFAULT_SAMPLE.read_text(encoding="utf-8")[:600] if DEFAULT_SAMPLE.exists()
            else "A review of a film about love, loneliness & software. " * 10)


def sample_feed() -> FeedInfo:
    """A private feed as the service describes it."""
    return FeedInfo(
        title="Ann's narrations", description="Reviews and articles, read aloud.", link=BASE + "/",
        self_url=f"{BASE}/feeds/{'k' * 32}.xml", language="en", author="Ann Example",
        owner_name="Ann Example", owner_email="ann@example.org", category="Arts/Books",
        image_url=BASE + "/feeds/cover.png")


def sample_episodes(count: int) -> list[EpisodeInfo]:
    """`count` episodes with every field set."""
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    return [EpisodeInfo(
        guid=f"00000000-0000-4000-8000-{number:012x}",
        title=f"Review #{number}: “Her” — <love> & \"AI\"", description=opening_text(),
        published=start + timedelta(hours=number),
        enclosure_url=f"{BASE}/feeds/t/episodes/{number:08x}/audio.mp3",
        enclosure_length=12_000_000 + number, duration=1268.3, episode_number=number,
        image_url=BASE + "/feeds/t/cover.png",
        chapters_url=f"{BASE}/feeds/t/episodes/{number:08x}/chapters.json",
        transcript_url=f"{BASE}/feeds/t/episodes/{number:08x}/transcript.vtt")
        for number in range(1, count + 1)]


def median_ms(action, runs: int) -> float:
    """Median wall time of `action()` in milliseconds, after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def service_with_episodes(folder: Path, count: int):
    """A real app on an SQLite file whose user has `count` finished narrations in their feed."""
    from narration.document import Chapter, Document, Metadata, document_to_dict, opening
    from narration.pipeline import plan_parts
    from narration.script import build_script
    from service import create_app
    from state import feeds, jobs, users

    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.db'}", "BASE_URL": BASE,
                      "MEDIA_URL": (folder / "media").as_uri(), "ENQUEUE": lambda job: None})
    document = Document(Metadata(title="Her"), (Chapter("", (opening_text(),)),))
    parts = plan_parts(build_script(document, max_chars=400))
    with app.extensions["narrator"].db.session() as session:
        user, _ = users.create_user(session, "bench")
        feed = feeds.default_feed(session, user.id)
        token = feeds.fresh_token(feed)
        for number in range(count):
            job, _ = jobs.create_job(session, request={}, voice="male", speed=1.0,
                                     source="text", input_chars=600, user_id=user.id)
            feeds.add_job(session, feed, job)
            jobs.start_plan(session, job.id)
            jobs.record_plan(session, job.id, document=document_to_dict(document),
                             description=opening(document), title="Her", author="", parts=parts)
            jobs.start_part(session, job.id, 0)
            jobs.finish_part(session, job.id, 0, 60.0)
            jobs.finish_job(session, job.id, duration=1268.3, mp3_size=12_000_000 + number)
    return app, token


def measure_service(count: int, runs: int) -> dict:
    """GET of the feed (200) and the same GET with its ETag (304), through the app."""
    with tempfile.TemporaryDirectory() as folder:
        app, token = service_with_episodes(Path(folder), count)
        client = app.test_client()
        first = client.get(f"/feeds/{token}.xml")
        assert first.status_code == 200 and first.data.count(b"<item>") == count
        etag = first.headers["ETag"]
        assert client.get(f"/feeds/{token}.xml",
                          headers={"If-None-Match": etag}).status_code == 304
        result = {
            "get": median_ms(lambda: client.get(f"/feeds/{token}.xml"), runs),
            "not_modified": median_ms(
                lambda: client.get(f"/feeds/{token}.xml", headers={"If-None-Match": etag}), runs)}
        app.extensions["narrator"].db.dispose()
    return result


def main() -> None:
    """Measure, print the report and write it into docs/performance.md."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    feed = sample_feed()
    rows = []
    for size in SIZES:
        episodes = sample_episodes(size)
        rows.append({"size": size, "kb": len(render_feed(feed, episodes)) / 1024,
                     "render": median_ms(lambda: render_feed(feed, episodes), args.runs),
                     **measure_service(size, args.runs)})
    report = render_report(rows, args.runs)
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Feeds", report)


def render_report(rows: list[dict], runs: int) -> str:
    """The Markdown section: one row per feed size."""
    lines = [
        f"`bench/feed.py` ({time.strftime('%Y-%m-%d')}, 2 cores, Python "
        f"{sys.version.split()[0]}). Median of {runs} runs; every episode has all fields and a "
        "600-character description. *render* is `narration.feed.render_feed` on ready records; "
        "*GET* is `/feeds/{token}.xml` through the Flask app on an SQLite database with that many "
        "finished narrations (token lookup, query, records, render); *304* is the same GET with "
        "a current If-None-Match, answered from the feed's revision without rendering.",
        "",
        f"| episodes | feed size (KB) | render (ms, target 1000 < {TARGET_MS:.0f}) | GET 200 (ms) "
        "| GET 304 (ms) | 304 / 200 |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['size']} | {row['kb']:.1f} | {row['render']:.2f} | "
                     f"{row['get']:.1f} | {row['not_modified']:.2f} | "
                     f"{row['not_modified'] / row['get']:.3f} |")
    biggest = rows[-1]
    verdict = "meets" if biggest["render"] < TARGET_MS else "MISSES"
    served = "meets" if biggest["get"] < TARGET_MS else "misses"
    lines += ["", f"The {biggest['size']}-episode render {verdict} the {TARGET_MS:.0f} ms target; "
              f"served whole over HTTP it {served} it ({biggest['get']:.0f} ms)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
