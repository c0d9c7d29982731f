"""Independent readers of what narrator writes: ffmpeg's decode and loudness, a WebVTT parser.

Shared by the tests so each output is checked by something other than the code that made it.
"""

from __future__ import annotations

import re
import subprocess

import imageio_ffmpeg
import numpy as np

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def decode(path) -> np.ndarray:
    """The MP3 decoded by ffmpeg to 16-bit mono samples, however many it holds."""
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2")


def ebur128(path) -> tuple[float, float]:
    """ffmpeg's own integrated loudness and true peak of the decoded file."""
    result = subprocess.run([FFMPEG, "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                             "-f", "null", "-"], capture_output=True, text=True, check=True)
    summary = result.stderr[result.stderr.rindex("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return integrated, peak


def max_step(samples: np.ndarray) -> float:
    """The click metric: the largest jump between neighbouring samples, in full-scale units.

    A click is a step no smooth sound makes; speech at podcast loudness steps by 0.1–0.3, a
    silent join by nothing, and a waveform cut mid-cycle by its whole amplitude.
    """
    samples = np.asarray(samples, dtype=np.float64)
    return float(np.max(np.abs(np.diff(samples)))) if len(samples) > 1 else 0.0


def parse_vtt(text: str) -> list[tuple[float, float, str]]:
    """A tiny WebVTT reader: (start, end, text) per cue, entities decoded."""
    assert text.startswith("WEBVTT\n")

    def seconds(stamp: str) -> float:
        hours, minutes, rest = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(rest)

    cues = []
    for block in text.strip().split("\n\n")[1:]:
        lines = block.split("\n")
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        start, end = (seconds(part.strip()) for part in lines[timing].split("-->"))
        payload = "\n".join(lines[timing + 1:])
        cues.append((start, end, payload.replace("&lt;", "<").replace("&gt;", ">")
                     .replace("&amp;", "&")))
    return cues


def id3_chapters(path) -> list[tuple[float, float, str]]:
    """(start, end, title) of each CHAP frame in table-of-contents order, in seconds."""
    from mutagen.id3 import ID3

    tags = ID3(path)
    order = tags.getall("CTOC")[0].child_element_ids
    frames = {frame.element_id: frame for frame in tags.getall("CHAP")}
    return [(frames[i].start_time / 1000, frames[i].end_time / 1000,
             str(frames[i].sub_frames["TIT2"])) for i in order]


def sentence_cache_entries() -> int:
    """Sentences in the workers' sentence cache (as this process's settings place it), read-only:
    each is one the engine synthesized, so a growth counts what a narration rendered anew."""
    import sqlite3

    from narration.settings import load_settings

    path = load_settings().sentence_cache_dir / "cache.db"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM Cache").fetchone()[0]
