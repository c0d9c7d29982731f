"""Intro and outro clips: uploaded audio made into a segment that joins like a narrated part.

A clip is checked (one of the formats we accept, readable, not silent, not too long), decoded
to mono at the episode's rate, given short fades so it starts and ends in silence, and encoded
once by `encode_segment`: the same loudness (−16 LUFS, true peak under −1 dBTP) and the same
MP3 parameters as every part, so `narration.join` can put its frames before the first part or
after the last one without decoding anything.

The format is told by ffmpeg's own probe (what ffprobe prints; the imageio-ffmpeg wheel carries
ffmpeg but not ffprobe), run in a child process like the decoder: an upload is never demuxed
inside the service's own process.
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np

from narration.audio import Audio, samples_for
from narration.encode import DEFAULT_BITRATE, FFMPEG
from narration.errors import NarrationError
from narration.render import OUTPUT_RATE
from narration.segment import Segment, encode_segment
from narration.timeline import RenderedChapter

FORMATS = {"mp3": "MP3", "wav": "WAV", "ogg": "OGG", "flac": "FLAC",
           "mov,mp4,m4a,3gp,3g2,mj2": "M4A"}
"""ffmpeg's demuxer names of the formats we accept, and how people call them."""
ACCEPTED = "MP3, WAV, OGG, FLAC or M4A"
KNOWN = {"matroska": "WebM or Matroska", "aac": "raw AAC", "aiff": "AIFF", "png": "PNG image",
         "jpeg": "JPEG image", "gif": "GIF image", "webp": "WebP image", "caf": "Core Audio"}
"""What people send most often instead, by demuxer, named for the message."""
SAFE_INPUT = ["-protocol_whitelist", "file", "-format_whitelist",
              "mp3,wav,ogg,flac,mov,matroska,aac,aiff,caf,png_pipe,jpeg_pipe,gif,webp_pipe"]
"""ffmpeg input options for uploads: only these demuxers may even look at the file (the ones we
take, and those we name when refusing), and only as a local file. Playlist-like formats (HLS,
concat, …) could otherwise make ffmpeg open other files or URLs while probing."""
FADE_SECONDS = 0.05
"""Fade in and out: short enough to keep the clip's start, long enough that it never clicks."""
SILENT_PEAK = 10 ** (-60 / 20)
"""A clip whose loudest sample stays under −60 dBFS has nothing to hear."""
PROBE_TIMEOUT = 30
DECODE_TIMEOUT = 120

_INPUT = re.compile(r"^Input #0, (.+?), from ", re.MULTILINE)
_AUDIO_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: Audio: (\w+)", re.MULTILINE)
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


class UnsupportedClipError(NarrationError):
    """Not audio in a format we accept (an image, a text, WebM, …)."""

    code = "unsupported_audio"
    status = 415


class InvalidClipError(NarrationError):
    """Audio in an accepted format that cannot be used: unreadable, no sound, silent."""

    code = "invalid_audio"


class ClipTooLongError(NarrationError):
    code = "audio_too_long"


def probe_clip(path: str | os.PathLike) -> str:
    """The demuxer ffmpeg finds for the file (a key of FORMATS), or the error to show.

    `ffmpeg -i FILE` with no output describes the input and exits; only the content decides,
    since uploads are stored without a file name.
    """
    report = _probe_report(path)
    found = _INPUT.search(report)
    if found is None:
        raise UnsupportedClipError(
            f"The body is not audio that can be read, or is cut short ({_last_line(report)}); send an "
            f"{ACCEPTED} file.", field="body")
    demuxer = found.group(1)
    if demuxer not in FORMATS:
        name = demuxer.split(",")[0].removesuffix("_pipe")
        raise UnsupportedClipError(
            f"The body is a {KNOWN.get(name, name)} file; send an {ACCEPTED} file.", field="body")
    if _AUDIO_STREAM.search(report) is None:
        raise InvalidClipError(f"The {FORMATS[demuxer]} file holds no audio.", field="body")
    return demuxer


def decode_clip(path: str | os.PathLike, demuxer: str, *, max_seconds: float,
                rate: int = OUTPUT_RATE) -> Audio:
    """The file's first audio stream as mono float samples at `rate`; refuses a clip longer
    than `max_seconds` (decoding stops just past it, so a long upload costs little)."""
    result = _ffmpeg(["-v", "error", "-nostdin", *SAFE_INPUT, "-f", demuxer.split(",")[0],
                      "-i", os.fspath(path),
                      "-map", "0:a:0", "-ac", "1", "-ar", str(rate),
                      "-t", f"{max_seconds + 0.5:.3f}", "-f", "f32le", "-"], DECODE_TIMEOUT)
    kind = FORMATS[demuxer]
    if result.returncode != 0:
        raise InvalidClipError(f"The {kind} file cannot be decoded "
                               f"({_last_line(result.stderr)}).", field="body")
    audio = Audio(np.frombuffer(result.stdout, dtype="<f4").copy(), rate)
    if audio.seconds > max_seconds:
        raise ClipTooLongError(f"Intro and outro clips may be at most {max_seconds:g} s long; "
                               f"this one is {_stated_length(path, audio.seconds)}.",
                               field="body")
    if not len(audio.samples) or float(np.max(np.abs(audio.samples))) < SILENT_PEAK:
        raise InvalidClipError(f"The {kind} file is silent (or empty): there is nothing to hear.",
                               field="body")
    return audio


def faded(audio: Audio, seconds: float = FADE_SECONDS) -> Audio:
    """The clip with raised-cosine fades in and out, so it starts and ends in silence (frame
    joins are only inaudible between silences)."""
    samples = np.array(audio.samples, dtype=np.float32)
    length = min(samples_for(seconds, audio.rate), len(samples) // 2)
    if length:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length))).astype(np.float32)
        samples[:length] *= ramp
        samples[-length:] *= ramp[::-1]
    return Audio(samples, audio.rate)


def prepare_clip(path: str | os.PathLike, mp3_path: str | os.PathLike, *, title: str,
                 max_seconds: float, bitrate: str = DEFAULT_BITRATE) -> Segment:
    """Check, decode, fade and encode an uploaded clip to `mp3_path` as a segment titled
    `title` (its chapter in the episode)."""
    audio = faded(decode_clip(path, probe_clip(path), max_seconds=max_seconds))
    return encode_segment(RenderedChapter(title, audio, ()), mp3_path, chapter=0, lead=0.0,
                          bitrate=bitrate)


def _ffmpeg(arguments: list[str], timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([FFMPEG, *arguments], capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise InvalidClipError(f"Reading the audio took longer than {timeout} s; send a "
                               f"plain {ACCEPTED} file.", field="body") from None


def _last_line(report: bytes | str) -> str:
    """ffmpeg's last message, without the file's temporary path."""
    text = report.decode("utf-8", "replace") if isinstance(report, bytes) else report
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    last = lines[-1] if lines else "no message"
    return re.sub(r"^\S*/[^:]*: ", "", last)


def _probe_report(path: str | os.PathLike) -> str:
    """What ffmpeg says about the file as its input."""
    report = _ffmpeg(["-hide_banner", "-nostdin", *SAFE_INPUT, "-i", os.fspath(path)],
                     PROBE_TIMEOUT).stderr
    return report.decode("utf-8", "replace")


def _stated_length(path: str | os.PathLike, decoded: float) -> str:
    """The clip's length as its container states it, or "over N s" when it states none."""
    found = _DURATION.search(_probe_report(path))
    if found is None:
        return f"over {decoded:.0f} s"
    hours, minutes, seconds = found.groups()
    return f"{int(hours) * 3600 + int(minutes) * 60 + float(seconds):.0f} s"

