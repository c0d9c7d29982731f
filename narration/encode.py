"""Encode PCM to MP3 with ffmpeg's LAME so the decoded file meets the podcast loudness norm."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import subprocess
import threading

import imageio_ffmpeg
import numpy as np

from narration.audio import Audio
from narration.loudness import (TARGET_LUFS, TRUE_PEAK_CEILING, Loudness, integrated_loudness,
                                limit_true_peak, measure, normalize_loudness, short_loudness)

log = logging.getLogger(__name__)

# The imageio-ffmpeg wheel carries an ffmpeg build, so no system install is needed.
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

DEFAULT_BITRATE = "96k"
"""Within the podcast range (64–128k); at 64k LAME moved speech peaks up by as much as 1.9 dB,
which cost re-encodes; at 96k by about 0.6 dB."""
ENCODER_VERSION = "ffmpeg-libmp3lame-1"
"""Changes when what `encode_mp3_to` makes from the same PCM changes (part of cache keys)."""
MP3_TRUE_PEAK = -1.2
"""dBTP the decoded MP3 must not exceed by our estimate: the podcast norm is −1, and ffmpeg's
ebur128 meter, which validators use, reads true peaks about 0.1 dB higher than ours."""
ENCODER_GAIN_DB = 0.4
"""The level the encoder loses, predicted: ffmpeg's libmp3lame here decodes about 0.4 dB
quieter than its input at every bitrate (measured on tones and Piper speech), so the PCM is
aimed that much above the target and one encode is the normal case."""
LOUDNESS_TOLERANCE_LU = 0.4
"""How far the decoded loudness may miss before it is worth another encode (Apple asks ±1)."""
MAX_ENCODES = 3
"""Speech needs one, rarely two; noise-like sound, whose peaks the coder moves everywhere, three."""
MARGIN_DB = 0.6
"""Extra headroom taken where an encode overshot the peak limit: peaks move by a few tenths
from one encode to the next."""


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples in [-1, 1] as 16-bit PCM, clipped rather than wrapped."""
    scaled = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)  # the one float copy
    scaled *= 32767.0
    np.rint(scaled, out=scaled)
    return scaled.astype("<i2")


def export_mp3(audio: Audio, path: str | os.PathLike, bitrate: str) -> None:
    """One LAME encode of the clip to `path`: mono, at the clip's rate, CBR, no ID3 tag.

    ffmpeg writes a Xing/LAME info frame first (frame count, encoder delay and padding), which
    lets players decode the exact length and lets `narration.join` place the clip exactly. The
    PCM goes through a pipe; the output must be a file, since ffmpeg fills the info frame in
    at the end by seeking back.
    """
    subprocess.run([FFMPEG, "-v", "error", "-f", "s16le", "-ar", str(audio.rate), "-ac", "1",
                    "-i", "-", "-c:a", "libmp3lame", "-b:a", bitrate, "-id3v2_version", "0",
                    "-write_id3v1", "0", "-write_xing", "1", "-f", "mp3", "-y", os.fspath(path)],
                   input=to_int16(audio.samples).tobytes(), check=True, capture_output=True)


def decode_mp3(path: str | os.PathLike, rate: int = 44100) -> Audio:
    """The MP3 as float samples, as a player would decode it, overs above 0 dBFS kept."""
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", os.fspath(path), "-f", "f32le", "-ac", "1",
                          "-ar", str(rate), "-"], check=True, capture_output=True).stdout
    return Audio(np.frombuffer(raw, dtype="<f4"), rate)


OPUS_TYPE = "audio/ogg"
"""Ogg Opus files are audio/ogg (RFC 7845 §9), with the codec named apart ("opus")."""


def encode_opus(mp3_path: str | os.PathLike, opus_path: str | os.PathLike, bitrate: str) -> None:
    """The episode once more, as Ogg Opus at `bitrate` (in place, not atomically).

    Made from the finished MP3, so it is the same episode sample for sample (the segments are
    MP3 frames already; there is no other PCM left to start from). ffmpeg carries the ID3
    title, artist and chapters over as Vorbis comments; the cover (a picture stream) is left
    out, since feeds give it apart. Ogg records the exact length (pre-skip and the last
    granule position), so players show the same duration as for the MP3.
    """
    subprocess.run([FFMPEG, "-v", "error", "-i", os.fspath(mp3_path), "-map", "0:a:0",
                    "-c:a", "libopus", "-b:a", bitrate, "-f", "ogg", "-y", os.fspath(opus_path)],
                   check=True, capture_output=True)


def prepare_loudness(audio: Audio, target_lufs: float) -> Audio:
    """The PCM brought to `target_lufs` with its true peak under the pre-encode ceiling.

    A clip under one 0.4 s gating block has no integrated loudness; its loudness is read as one
    block instead (`short_loudness`), so a one-word part is as loud as the rest. Silence stays.
    """
    out = normalize_loudness(audio, target_lufs=target_lufs)
    if out is not audio or not np.any(audio.samples):
        return out
    level = short_loudness(audio)
    if not math.isfinite(level):
        return audio
    gained = np.asarray(audio.samples, np.float32) * np.float32(10 ** ((target_lufs - level) / 20))
    return Audio(limit_true_peak(gained, audio.rate, TRUE_PEAK_CEILING), audio.rate)


def encode_mp3_to(audio: Audio, path: str | os.PathLike, *, bitrate: str = DEFAULT_BITRATE,
                target_lufs: float = TARGET_LUFS, peak_limit: float = MP3_TRUE_PEAK) -> Loudness:
    """Encode to `path` (in place, not atomically) so the decoded MP3 meets the loudness norm;
    returns what the decoded MP3 measures.

    The PCM is normalized aiming `ENCODER_GAIN_DB` above the target, encoded, decoded and
    measured. Encoding moves peaks (at 64 kbit/s Piper speech rose 1.4–1.9 dB over its PCM true
    peak in places, noise-like babble 2.5 dB), so when the decoded file misses, the PCM is
    corrected and encoded again: its gain by the loudness missed, and the gain around each
    place the encoder pushed over the limit, by that overshoot.
    """
    if not np.any(audio.samples):  # silence: nothing to measure or correct
        export_mp3(audio, path, bitrate)
        return Loudness(-math.inf, -math.inf)
    pcm = prepare_loudness(audio, target_lufs + ENCODER_GAIN_DB)
    for encode in range(1, MAX_ENCODES + 1):
        export_mp3(pcm, path, bitrate)
        decoded = decode_mp3(path, audio.rate)
        found = measure(decoded)
        missed_loudness = (math.isfinite(found.lufs)
                           and abs(found.lufs - target_lufs) > LOUDNESS_TOLERANCE_LU
                           and not _limited(pcm, found.lufs))
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
            pcm = prepare_loudness(audio, target_lufs + shift)
        if found.true_peak > peak_limit:
            # The decoded file is longer by the encoder's delay and padding only at its ends,
            # which ffmpeg trims; it lines up with the PCM sample for sample.
            pcm = Audio(limit_true_peak(pcm.samples, pcm.rate, peak_limit - MARGIN_DB,
                                        peaks_of=decoded.samples[:len(pcm.samples)]), pcm.rate)
    log.info("encoded %.1f s at %s to %s: %.1f LUFS, %.2f dBTP (%d encodes)", audio.seconds,
             bitrate, path, found.lufs, found.true_peak, encode)
    return found


def _limited(pcm: Audio, decoded_lufs: float) -> bool:
    """Whether the encoder changed the level as predicted, so that a missed target is the
    limiter's doing (a voice too peaky to be that loud under the ceiling): encoding again at
    another gain would not help."""
    expected = integrated_loudness(pcm) - ENCODER_GAIN_DB
    return abs(decoded_lufs - expected) <= LOUDNESS_TOLERANCE_LU / 2


class Mp3Stream:
    """One LAME encoder process fed PCM piece by piece, its MP3 frames handed on as they come
    out: a stream that is one valid MP3, with no gap or click between pieces (a file of
    separately encoded pieces would carry each encoder's delay and padding as silence).

    ffmpeg reads 16-bit PCM on stdin and writes frames to stdout, flushing each packet; a
    reader thread passes every read to `on_bytes`, so the caller's writes never wait for
    the caller's consumer. No Xing/LAME info frame (it is filled in by seeking back, which a
    pipe cannot), so players take the length from the frames. LAME holds back about a frame
    and a half, which comes out with the next piece or at `close`.
    """

    def __init__(self, rate: int, on_bytes, *, bitrate: str = DEFAULT_BITRATE):
        self.on_bytes = on_bytes
        self.process = subprocess.Popen(
            [FFMPEG, "-v", "error", "-probesize", "32", "-analyzeduration", "0", "-f", "s16le",
             "-ar", str(rate), "-ac", "1", "-i", "-", "-c:a", "libmp3lame", "-b:a", bitrate,
             "-write_xing", "0", "-id3v2_version", "0", "-write_id3v1", "0",
             "-flush_packets", "1", "-f", "mp3", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.failure: BaseException | None = None
        self.reader = threading.Thread(target=self._read, name="mp3-stream", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while data := os.read(self.process.stdout.fileno(), 65536):
                self.on_bytes(data)
        except BaseException as error:  # e.g. the consumer's store is gone: the writer raises it
            self.failure = error
            self.process.kill()

    def write(self, samples: np.ndarray) -> None:
        """Encode float samples at the stream's rate (they come out as soon as LAME has them)."""
        if self.failure is not None:
            raise self.failure
        try:
            self.process.stdin.write(to_int16(samples).tobytes())
            self.process.stdin.flush()
        except BrokenPipeError:
            self.close()  # raises what went wrong
            raise

    def close(self) -> None:
        """Flush the last frames and wait for them; raise when the encoder failed."""
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        self.reader.join()
        self.process.stdout.close()
        code = self.process.wait()
        if self.failure is not None:
            raise self.failure
        if code != 0:
            raise RuntimeError(f"the MP3 encoder failed ({code}): "
                               f"{self.process.stderr.read().decode(errors='replace').strip()}")
        self.process.stderr.close()

    def kill(self) -> None:
        """Stop at once, dropping what is not out yet (the listener left)."""
        self.process.kill()
        self.reader.join()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
