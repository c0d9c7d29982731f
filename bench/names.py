"""Benchmark: word error rate of each voice on a text full of names, without and with a lexicon,
and what the recognition check costs.

For each voice: narrate bench/texts/names.txt without the sentence cache, once without and once
with bench/texts/names.pls, each time with the recognition check (retakes off, so the WER is that
of first takes). The check's cost is given in wall time and in CPU time: on a shared machine the
wall time of two multi-threaded steps swings with the load, the CPU time much less. Prints JSON lines; the figures go into docs/performance.md ("Names and
recognition") by hand, with the date.

    .venv/bin/python bench/names.py [--voices male,female]
    .venv/bin/python bench/names.py --service --voices male   # the service's part tasks
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TEXTS = ROOT / "bench" / "texts"


def measure(voice_name: str, lexicon_path: Path | None) -> dict:
    import voices
    from narration.check import EpisodeCheck
    from narration.lexicon import Lexicon, read_lexicon_files
    from narration.names import find_names
    from narration.pipeline import narrate
    from narration.reading import decode_text, read_plain
    from narration.script import build_script
    from voices.recognizer import load_recognizer

    document = read_plain(decode_text((TEXTS / "names.txt").read_bytes()))
    lexicon = read_lexicon_files([lexicon_path]) if lexicon_path else Lexicon()
    engine = voices.load_engine(voices.load_catalogue().find(voice_name))
    recognizer = load_recognizer()
    engine.synthesize("Warm up.", 1.0)
    names = find_names(build_script(document, max_chars=engine.max_chars), lexicon=lexicon,
                       guessed=getattr(engine, "guessed_words", None))
    check = EpisodeCheck(recognizer, None, names=[n.word for n in names.names])
    check_cpu = 0.0

    def timed_check(script, rendered):
        """The check, with the CPU time it takes (all threads of this process: nothing else
        runs here meanwhile; the encoder is another process)."""
        nonlocal check_cpu
        started_cpu = time.process_time()
        try:
            return check(script, rendered)
        finally:
            check_cpu += time.process_time() - started_cpu

    with tempfile.TemporaryDirectory() as folder:
        started, started_cpu = time.perf_counter(), cpu_seconds()
        files = narrate(document, engine, Path(folder) / "names.mp3", lexicon=lexicon,
                        after_part=timed_check)
        total, total_cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
    report = check.report()
    return {"voice": voice_name, "lexicon": bool(lexicon_path), "words": report["words"],
            "wer": report["wer"], "names": len(names.names),
            "name_misses": len(report["names_not_recognized"]),
            "missed": sorted({m["name"] for m in report["names_not_recognized"]}),
            "suspect": len(report["suspect"]), "audio_seconds": round(files.duration, 1),
            "narrate_seconds": round(total - report["seconds"], 1),
            "check_seconds": report["seconds"],
            "check_share": round(report["seconds"] / (total - report["seconds"]), 3),
            "narrate_cpu": round(total_cpu - check_cpu, 1), "check_cpu": round(check_cpu, 1),
            "check_cpu_share": round(check_cpu / (total_cpu - check_cpu), 3),
            "date": time.strftime("%Y-%m-%d")}


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the encoder process, which narrate
    joins before it returns)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def per_name(voice_name: str) -> dict:
    """Each lexicon entry in a carrier sentence, said without and with its entry: is it heard?"""
    import voices
    from narration.check import comparable
    from narration.engine import synthesize_utterance
    from narration.lexicon import read_lexicon_files
    from narration.script import Utterance
    from voices.recognizer import load_recognizer

    lexicon = read_lexicon_files([TEXTS / "names.pls"])
    engine = voices.load_engine(voices.load_catalogue().find(voice_name))
    recognizer = load_recognizer()
    result = {"voice": voice_name, "without": [], "with": []}
    for entry in lexicon.entries:
        text = f"Tonight, {entry.grapheme} was there."
        applied = lexicon.apply(text)
        for key, utterance in (("without", Utterance(text, text)),
                               ("with", Utterance(text, applied.spoken, phonemes=applied.phonemes))):
            heard = recognizer.transcribe(synthesize_utterance(engine, utterance))
            if set(comparable(entry.grapheme)) <= set(comparable(heard)):
                result[key].append(entry.grapheme)
    result["entries"] = len(lexicon.entries)
    return result


def service(voice_name: str, rounds: int = 2) -> dict:
    """The service's part tasks on names.txt: each part produced as a worker does
    (`produce_part`, no caches), without and with the recognition check and its retakes (the
    same `after_part` hook the part task passes), alternating, fastest round of each counted;
    wall and CPU time (the recognizer's threads included)."""
    import voices
    from narration.check import EpisodeCheck, make_retake
    from narration.names import find_names
    from narration.pipeline import plan_parts, produce_part
    from narration.reading import decode_text, read_plain
    from narration.script import build_script
    from voices.recognizer import Recognizer

    document = read_plain(decode_text((TEXTS / "names.txt").read_bytes()))
    engine = voices.load_engine(voices.load_catalogue().find(voice_name))
    engine.synthesize("Warm up.", 1.0)
    scripts = build_script(document, max_chars=engine.max_chars)
    words = [n.word for n in find_names(scripts, guessed=getattr(engine, "guessed_words", None)).names]
    parts = plan_parts(scripts)
    recognizer = Recognizer()  # as a worker process loads it (workers.resources.recognizer)
    best = {"plain": (float("inf"), 0.0), "checked": (float("inf"), 0.0)}
    retried = 0
    for _round in range(rounds):
        for mode in ("plain", "checked"):
            checker = (EpisodeCheck(recognizer, make_retake(engine, 1.0), names=words)
                       if mode == "checked" else None)
            wall, cpu = time.perf_counter(), time.process_time()
            with tempfile.TemporaryDirectory() as folder:
                for index, part in enumerate(parts):
                    produce_part(part, engine, Path(folder) / f"{index}.mp3", after_part=checker)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[mode] = min(best[mode], (wall, cpu))
            if checker:
                retried = sum(len(c.retried) for c in checker.chapters)
    (plain_wall, plain_cpu), (checked_wall, checked_cpu) = best["plain"], best["checked"]
    return {"voice": voice_name, "mode": "service part tasks", "parts": len(parts),
            "plain_wall": round(plain_wall, 1), "checked_wall": round(checked_wall, 1),
            "extra_wall": round(checked_wall / plain_wall - 1, 3),
            "plain_cpu": round(plain_cpu, 1), "checked_cpu": round(checked_cpu, 1),
            "extra_cpu": round(checked_cpu / plain_cpu - 1, 3), "retried_last_round": retried,
            "date": time.strftime("%Y-%m-%d")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--voices", default="male,female")
    parser.add_argument("--per-name", action="store_true",
                        help="each name alone in a carrier sentence, without and with its entry")
    parser.add_argument("--service", action="store_true",
                        help="the service's part tasks without and with the check (its cost)")
    args = parser.parse_args()
    for voice in args.voices.split(","):
        if args.service:
            print(json.dumps(service(voice)), flush=True)
            continue
        if args.per_name:
            print(json.dumps(per_name(voice)), flush=True)
            continue
        for lexicon in (None, TEXTS / "names.pls"):
            print(json.dumps(measure(voice, lexicon)), flush=True)


if __name__ == "__main__":
    main()
