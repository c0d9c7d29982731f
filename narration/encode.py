"""Encode the finished episode to MP3 from PCM with ffmpeg's LAME, and check what it decodes to."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import warnings

import imageio_ffmpeg
import numpy as np

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH when imported and warns if there is none; we point it at
    # the imageio-ffmpeg build below, so the warning would only alarm CLI users.
    warnings.filterwarnings("ignore", message="Couldn't find ffmpeg", category=RuntimeWarning)
    from pydub import AudioSegment

from narration.audio import Audio
from narration.files import atomic_path
from narration.loudness import TARGET_LUFS, limit_true_peak, measure, normalize_loudness

log = logging.getLogger(__name__)

# The imageio-ffmpeg wheel carries an ffmpeg build, so no system install is needed.
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
AudioSegment.converter = FFMPEG

DEFAULT_BITRATE = "96k"
"""Within the podcast range (64–128k); at 64k LAME moved speech peaks up by as much as 1.9 dB,
which cost re-encodes; at 96k by about 0.6 dB."""
MP3_TRUE_PEAK = -1.2
"""dBTP the decoded MP3 must not exceed by our estimate: the podcast norm is −1, and ffmpeg's
ebur128 meter, which validators use, reads true peaks about 0.1 dB higher than ours."""
ENCODER_GAIN_DB = 0.4
"""First guess at the level the encoder loses: ffmpeg's libmp3lame here decodes about 0.4 dB
quieter than its input at every bitrate (measured on tones and Piper speech); each encode is
measured and corrected anyway."""
LOUDNESS_TOLERANCE_LU = 0.4
"""How far the decoded loudness may miss before it is worth another encode (Apple asks ±1)."""
MAX_ENCODES = 3
"""Speech needs one or two; noise-like sound, whose peaks the coder moves everywhere, three."""
MARGIN_DB = 0.6
"""Extra headroom taken where an encode overshot the peak limit: peaks move by a few tenths
from one encode to the next."""


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM, clipped rather than wrapped."""
    scaled = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0
    return np.round(scaled).astype("<i2")


def export_mp3(audio: Audio, path: str | os.PathLike, bitrate: str) -> None:
    """One pydub/ffmpeg export of the whole clip: mono, at the clip's rate, LAME info header.

    The whole episode is encoded in one pass: joined MP3 files would carry a decoder delay and
    padding at every join. The info header lets players decode the exact length.
    """
    segment = AudioSegment(data=to_int16(audio.samples).tobytes(), sample_width=2,
                           frame_rate=audio.rate, channels=1)
    exported = segment.export(os.fspath(path), format="mp3", bitrate=bitrate,
                              parameters=["-ac", "1", "-ar", str(audio.rate)])
    exported.close()  # pydub hands back the open output file


def decode_mp3(path: str | os.PathLike, rate: int = 44100) -> Audio:
    """The MP3 as float samples, as a player would decode it, overs above 0 dBFS kept.

    Calls ffmpeg directly: pydub's decoder needs ffprobe, which the imageio-ffmpeg wheel lacks.
    """
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", os.fspath(path), "-f", "f32le", "-ac", "1",
                          "-ar", str(rate), "-"], check=True, capture_output=True).stdout
    return Audio(np.frombuffer(raw, dtype="<f4"), rate)


def encode_mp3_to(audio: Audio, path: str | os.PathLike, *, bitrate: str = DEFAULT_BITRATE,
                  target_lufs: float = TARGET_LUFS, peak_limit: float = MP3_TRUE_PEAK) -> None:
    """Encode to `path` directly (not atomically) so the decoded file meets the loudness norm.

    Encoding lowers the level a little and moves peaks (at 64 kbit/s Piper speech rose 1.4–1.9
    dB over its PCM true peak in places, noise-like babble 2.5 dB), so the decoded file is
    measured; when it misses, the PCM is corrected and encoded again: its gain by the loudness
    missed, and the gain around each place the encoder pushed over the limit, by that overshoot.
    Publishing callers use `encode_mp3` or `write_episode`.
    """
    if not np.any(audio.samples):  # silence: nothing to measure or correct
        export_mp3(audio, path, bitrate)
        return
    pcm = normalize_loudness(audio, target_lufs=target_lufs + ENCODER_GAIN_DB)
    for encode in range(1, MAX_ENCODES + 1):
        export_mp3(pcm, path, bitrate)
        decoded = decode_mp3(path, audio.rate)
        found = measure(decoded)
        missed_loudness = (math.isfinite(found.lufs)
                           and abs(found.lufs - target_lufs) > LOUDNESS_TOLERANCE_LU)
        if not missed_loudness and found.true_peak <= peak_limit:
            break
        if encode == MAX_ENCODES:
            log.warning("MP3 still at %.1f LUFS, %.2f dBTP after %d encodes", found.lufs,
                        found.true_peak, encode)
            break
        log.info("MP3 at %.1f LUFS, %.2f dBTP; correcting and encoding again", found.lufs,
                 found.true_peak)
        if missed_loudness:
            shift = ENCODER_GAIN_DB + target_lufs - found.lufs
            pcm = normalize_loudness(audio, target_lufs=target_lufs + shift)
        if found.true_peak > peak_limit:
            pcm = Audio(limit_true_peak(pcm.samples, pcm.rate, peak_limit - MARGIN_DB,
                                        peaks_of=decoded.samples), pcm.rate)
    log.info("encoded %.1f s at %s to %s: %.1f LUFS, %.2f dBTP (%d encodes)", audio.seconds,
             bitrate, path, found.lufs, found.true_peak, encode)


def encode_mp3(audio: Audio, path: str | os.PathLike, *, bitrate: str = DEFAULT_BITRATE) -> None:
    """Encode to a temp file beside `path` and rename it into place when complete."""
    with atomic_path(path) as temp:
        encode_mp3_to(audio, temp, bitrate=bitrate)
