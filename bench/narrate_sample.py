"""Benchmark: narrate the sample with each default voice, against the raw engine in a plain loop.

Each measurement runs in its own process so peak RSS belongs to it alone; raw and pipeline runs
alternate in one session so machine noise hits both. Prints a table and writes
docs/performance.md (section "Narration core").

    .venv/bin/python bench/narrate_sample.py [--voices male,female] [--sample PATH]
"""

from __future__ import annotations

import argparse
import json
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
    """One measurement in this process: 'raw', 'cold' (empty cache) or 'edit' (one paragraph changed)."""
    import voices
    from narration.cache import SentenceCache
    from narration.pipeline import narrate
    from narration.reading import decode_text, read_plain
    from narration.script import build_script

    document = read_plain(decode_text(sample.read_bytes()))
    engine = voices.load_engine(voices.load_catalogue().find(voice_name))
    engine.synthesize("Warm up.", 1.0)  # first-call costs belong to neither side
    started = time.perf_counter()
    if mode == "raw":
        audio_seconds = 0.0
        for script in build_script(document, max_chars=engine.max_chars):
            for utterance in script.utterances:
                audio_seconds += engine.synthesize(utterance.spoken, 1.0).seconds
    else:
        cache = SentenceCache(workdir / f"cache-{voice_name}", 4 << 30)
        if mode == "edit":
            document = _edit_one_paragraph(document)
        files = narrate(document, engine, workdir / f"{voice_name}-{mode}.mp3", cache=cache)
        audio_seconds = files.duration
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "voice": voice_name, "wall": wall, "audio": audio_seconds,
            "rtf": wall / audio_seconds, "peak_mb": peak_mb}


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
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.voices, args.sample, args.workdir)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in args.voices.split(","):
            # cold fills the cache that edit then reuses; raw runs between them.
            for mode in ("cold", "raw", "edit"):
                row = run_child(mode, voice, args.sample, Path(tmp))
                rows.append(row)
                print(json.dumps(row), flush=True)
    report = render_report(rows, args.sample)
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Narration core", report)


def render_report(rows: list[dict], sample: Path) -> str:
    by = {(r["voice"], r["mode"]): r for r in rows}
    lines = [
        f"Sample: `{sample.name}`, narrated by `bench/narrate_sample.py` "
        f"({time.strftime('%Y-%m-%d')}, 2 cores). Each row is its own process.",
        "",
        "| voice | run | audio (s) | wall (s) | RTF | peak RSS (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['voice']} | {r['mode']} | {r['audio']:.1f} | {r['wall']:.1f} | "
                     f"{r['rtf']:.3f} | {r['peak_mb']:.0f} |")
    lines += ["", "| voice | pipeline overhead over raw engine (target ≤ 5 %) | "
                  "one-paragraph edit / cold (target ≤ 10 %) |", "|---|---|---|"]
    for voice in dict.fromkeys(r["voice"] for r in rows):
        cold, raw, edit = by[(voice, "cold")], by[(voice, "raw")], by[(voice, "edit")]
        overhead = (cold["wall"] / raw["wall"] - 1) * 100
        lines.append(f"| {voice} | {overhead:+.1f} % | {edit['wall'] / cold['wall'] * 100:.1f} % |")
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
