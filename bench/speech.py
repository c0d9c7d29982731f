"""Benchmark: streamed /v1/audio/speech, time to the first audio against the whole answer.

Starts `narrator up` (two worker processes, empty caches), warms both workers, then for each
text (six sentences; about thirty, near the 4,096-character limit) times, per run: the
unstreamed MP3 (POST until the whole file is in), the streamed MP3 and the streamed PCM (POST
until the first audio bytes, and until the end). Prints a table of medians and writes the
"Streaming speech" section of docs/performance.md. The first sentence's own synthesis time
(the raw engine, in this process) is shown for scale: the first chunk cannot come before it.

    .venv/bin/python bench/speech.py [--voice male] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import service  # noqa: E402  (the same `narrator up` as the service benchmark)
from bench.narrate_sample import DEFAULT_SAMPLE, write_section  # noqa: E402

SHORT = ("The morning train was late again. Nobody on the platform seemed surprised by it. "
         "A man in a grey coat read the previous day's newspaper. Two students argued about a "
         "film they had both loved. The announcer apologised for the delay in a tired voice. "
         "At last the train pulled in, and everyone climbed aboard without a word.")


def long_text(sample: Path, limit: int = 4000) -> str:
    """Whole paragraphs of the sample review's body, up to `limit` characters."""
    paragraphs = [p.strip() for p in sample.read_text().split("\n\n") if len(p.strip()) > 200]
    text = ""
    for paragraph in paragraphs:
        if len(text) + len(paragraph) + 2 > limit:
            break
        text += paragraph + "\n\n"
    return text.strip()


def timed(url: str, key: str, text: str, voice: str, **fields) -> tuple[float, float, int]:
    """(seconds to the first body bytes, seconds to the end, bytes)."""
    started = time.perf_counter()
    first, size = None, 0
    fields = {"model": "tts-1", "input": text, "voice": voice, **fields}
    with requests.post(f"{url}/v1/audio/speech", stream=True, timeout=300, json=fields,
                       headers={"Authorization": f"Bearer {key}"}) as response:
        response.raise_for_status()
        for chunk in response.raw.stream(65536, decode_content=False):
            if chunk:
                first = first or time.perf_counter() - started
                size += len(chunk)
    return first, time.perf_counter() - started, size


def first_sentence_seconds(text: str, voice: str) -> float:
    """The raw engine speaking the text's first sentence, engine already loaded."""
    import voices
    from narration.reading import read_plain
    from narration.script import build_script

    engine = voices.load_engine(voices.load_catalogue().find(voice))
    first = build_script(read_plain(text), max_chars=engine.max_chars)[0].utterances[0]
    engine.synthesize(first.spoken, 1.0)  # warm
    started = time.perf_counter()
    engine.synthesize(first.spoken, 1.0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voice", default="male")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    args = parser.parse_args()
    texts = {"6 sentences": SHORT, "long": long_text(args.sample)}
    cases = {"MP3 file": {}, "MP3 stream": {"stream": True},
             "PCM stream": {"stream": True, "response_format": "pcm"}}
    rows, load = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        process, url = service.start_service(Path(tmp) / "service", 2)
        try:
            for _ in range(2):  # both worker processes load the voice
                timed(url, service.KEY, "Warming up.", args.voice)
            for name, text in texts.items():
                first_sentence = first_sentence_seconds(text, args.voice)
                for case, fields in cases.items():
                    runs = [timed(url, service.KEY, text, args.voice, **fields)
                            for _ in range(args.runs)]
                    row = {"text": name, "chars": len(text), "case": case,
                           "first": statistics.median(r[0] for r in runs),
                           "whole": statistics.median(r[1] for r in runs),
                           "bytes": statistics.median(r[2] for r in runs),
                           "first_sentence": first_sentence}
                    print(row, flush=True)
                    rows.append(row)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(120)
    report = "\n".join([
        f"`bench/speech.py` ({time.strftime('%Y-%m-%d')}, 2 cores, voice `{args.voice}`): "
        f"`/v1/audio/speech` on `narrator up` with two worker processes, median of {args.runs} "
        "runs each after both workers loaded the voice, at a load average of "
        f"{load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (other work shares "
        "the cores). *First audio* is from sending the POST to the first body bytes; for the "
        "file that is nearly the whole answer. *First sentence* is the raw engine speaking the "
        "text's first sentence alone, in the benchmark's process.",
        "",
        "| text | answer | first audio | whole answer | first / whole | first sentence (engine) "
        "| bytes |",
        "|---|---|---|---|---|---|---|",
        *[f"| {r['text']} ({r['chars']:,} chars) | {r['case']} | {r['first']:.2f} s | "
          f"{r['whole']:.2f} s | {100 * r['first'] / r['whole']:.0f} % | "
          f"{r['first_sentence']:.2f} s | {r['bytes']:,.0f} |" for r in rows],
        "",
        "A stream's first audio comes once the first sentence is spoken, normalized and "
        "encoded, plus the trip through the queue and Redis: about the engine's time for that "
        "sentence, whatever the length of the text; the rest follows sentence by sentence "
        "while the client already plays. Whole-answer times across rows move with the "
        "machine's load (other work shares the two cores): read first / whole within a row.",
    ])
    print(report)
    write_section(ROOT / "docs" / "performance.md", "Streaming speech", report)


if __name__ == "__main__":
    main()
