"""Benchmark: narrate the sample with each default voice, against the raw engine in a plain loop.

Per voice, side by side in one session so machine noise hits all of them: `raw` (the engine
alone on the same sentences), `cold` (the CLI's `narrate` with no caches), `fill` (the same with
empty sentence and segment caches, which it fills) and `edit` (one paragraph changed, caches
warm). Each runs in its own process; peak memory is the largest sum of the proportional set size
(PSS: resident memory, shared pages split between the processes sharing them) of that process
and its children (the encoder process, ffmpeg), sampled every 50 ms. Prints a table and writes
docs/performance.md (section "Narration core").

    .venv/bin/python bench/narrate_sample.py [--voices male,female] [--sample PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLE = ROOT.parent / "shared" / "samples" / "her-review.txt"
sys.path.insert(0, str(ROOT))


def measure(mode: str, voice_name: str, sample: Path, workdir: Path) -> dict:
    """One measurement in this process: 'raw', 'cold' (no caches), 'fill' (empty caches) or
    'edit' (one paragraph changed, caches filled)."""
    import voices
    from narration.cache import SentenceCache
    from narration.pipeline import narrate
    from narration.segment_cache import SegmentCache
    from narration.reading import decode_text, read_plain
    from narration.script import build_script

    document = read_plain(decode_text(sample.read_bytes()))
    memory = TreeMemory()
    engine = voices.load_engine(voices.load_catalogue().find(voice_name))
    engine.synthesize("Warm up.", 1.0)  # first-call costs belong to neither side
    before = {who: resource.getrusage(who)
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)}
    started = time.perf_counter()
    if mode == "raw":
        audio_seconds = 0.0
        for script in build_script(document, max_chars=engine.max_chars):
            for utterance in script.utterances:
                audio_seconds += engine.synthesize(utterance.spoken, 1.0).seconds
    else:
        cache = segments = None
        if mode != "cold":
            cache = SentenceCache(workdir / f"cache-{voice_name}", 4 << 30)
            segments = SegmentCache(workdir / f"segments-{voice_name}", 1 << 30)
        if mode == "edit":
            document = _edit_one_paragraph(document)
        files = narrate(document, engine, workdir / f"{voice_name}-{mode}.mp3", cache=cache,
                        segments=segments)
        audio_seconds = files.duration
    wall = time.perf_counter() - started
    peak, children = memory.stop()
    cpu = sum(getattr(resource.getrusage(who), field) - getattr(before[who], field)
              for who in before for field in ("ru_utime", "ru_stime"))
    return {"mode": mode, "voice": voice_name, "wall": wall, "cpu": cpu, "audio": audio_seconds,
            "rtf": wall / audio_seconds, "peak_mb": peak, "child_mb": children,
            "own_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


class TreeMemory:
    """Samples the PSS of this process and its children every 50 ms: the peak of the sum, and
    the children's share at that moment. PSS, not RSS: a child between fork and exec shows the
    parent's whole RSS as its own, and RSS counts shared libraries once per process (for the
    same reason ru_maxrss of children is no use here)."""

    def __init__(self):
        import threading

        import psutil

        self.process = psutil.Process()
        self.peak = self.children = 0
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        import psutil

        while self.running:
            try:
                children = sum(child.memory_full_info().pss
                               for child in self.process.children(recursive=True))
                total = self.process.memory_full_info().pss + children
            except psutil.Error:  # a child ended while being read
                continue
            if total > self.peak:
                self.peak, self.children = total, children
            time.sleep(0.05)

    def stop(self) -> tuple[float, float]:
        """(peak MB, the children's MB at the peak)."""
        self.running = False
        self.thread.join()
        return self.peak / 2**20, self.children / 2**20


def _edit_one_paragraph(document):
    """The same review with one sentence added to the second chapter's first paragraph."""
    from dataclasses import replace

    chapters = list(document.chapters)
    paragraphs = list(chapters[1].paragraphs)
    paragraphs[0] += " I changed my mind about this part after a second viewing."
    chapters[1] = replace(chapters[1], paragraphs=tuple(paragraphs))
    return replace(document, chapters=tuple(chapters))


def run_child(mode: str, voice: str, sample: Path, workdir: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--voices", voice, "--sample", str(sample),
         "--workdir", str(workdir)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default="male,female")
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--child")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--rounds", type=int, default=2,
                        help="raw/cold pairs per voice; the fastest of each counts")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.voices, args.sample, args.workdir)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in args.voices.split(","):
            # raw and cold alternate; fill fills the caches that edit then reuses.
            for mode in ("raw", "cold") * args.rounds + ("fill", "edit"):
                row = run_child(mode, voice, args.sample, Path(tmp))
                rows.append(row)
                print(json.dumps(row), flush=True)
    report = render_report(rows, args.sample)
    print(report)
    if not args.no_write:
        write_section(ROOT / "docs" / "performance.md", "Narration core", report)


def render_report(rows: list[dict], sample: Path) -> str:
    lines = [
        f"Sample: `{sample.name}`, narrated by `bench/narrate_sample.py` "
        f"({time.strftime('%Y-%m-%d %H:%M')}, 2 cores shared with other work, load "
        f"{os.getloadavg()[0]:.1f} at the end). Each row is its own process; peak memory is the "
        "largest sum of PSS over the process and its children (encoder process, ffmpeg); CPU "
        "is user + system time of the process and its children.",
        "",
        "| voice | run | audio (s) | wall (s) | CPU (s) | RTF | peak memory (MB) | "
        "of which children (MB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['voice']} | {r['mode']} | {r['audio']:.1f} | {r['wall']:.1f} | "
                     f"{r['cpu']:.1f} | {r['rtf']:.3f} | {r['peak_mb']:.0f} | "
                     f"{r['child_mb']:.0f} |")
    lines += ["", "| voice | CLI overhead over raw engine, wall (target ≤ 10 % male, ≤ 5 % "
                  "female) | the same in CPU time | one-paragraph edit / cold | "
                  "peak memory over raw (target ≤ 300 MB) |", "|---|---|---|---|---|"]
    for voice in dict.fromkeys(r["voice"] for r in rows):
        runs = {mode: [r for r in rows if r["voice"] == voice and r["mode"] == mode]
                for mode in ("raw", "cold", "edit")}
        raw, cold = (min(runs[m], key=lambda r: r["wall"]) for m in ("raw", "cold"))
        edit = runs["edit"][0]
        extra = max(r["peak_mb"] for r in rows if r["voice"] == voice) - max(
            r["peak_mb"] for r in runs["raw"])
        lines.append(f"| {voice} | {(cold['wall'] / raw['wall'] - 1) * 100:+.1f} % | "
                     f"{(cold['cpu'] / raw['cpu'] - 1) * 100:+.1f} % | "
                     f"{edit['wall'] / cold['wall'] * 100:.1f} % | {extra:+.0f} MB |")
    return "\n".join(lines)


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or add) one `## title` section of a Markdown report, keeping the others."""
    text = path.read_text() if path.exists() else "# Performance\n"
    head = f"## {title}\n"
    start = text.find(head)
    if start == -1:
        text = text.rstrip("\n") + f"\n\n{head}\n{body}\n"
    else:
        end = text.find("\n## ", start + len(head))
        text = text[:start] + f"{head}\n{body}\n" + (text[end:] if end != -1 else "")
    path.write_text(text)


if __name__ == "__main__":
    main()
