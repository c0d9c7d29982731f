"""Speed changes an engine cannot make itself: pitch-preserving time-stretch through ffmpeg."""

from __future__ import annotations

import subprocess

import numpy as np


def split_speed(speed: float, lowest: float, highest: float) -> tuple[float, float]:
    """(what the engine is asked for, clamped to its range; the factor left to time-stretch)."""
    engine_speed = min(max(speed, lowest), highest)
    return engine_speed, speed / engine_speed


def time_stretch(samples: np.ndarray, rate: int, factor: float) -> np.ndarray:
    """Play `samples` `factor` times faster without changing pitch.

    ffmpeg's atempo (WSOLA) is well kept and already a dependency through imageio-ffmpeg; numpy
    alone has no pitch-preserving stretch. Used only for the part of a speed an engine cannot do.
    """
    if abs(factor - 1.0) < 1e-3 or len(samples) == 0:
        return samples
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "f32le", "-ar", str(rate),
               "-ac", "1", "-i", "pipe:0", "-filter:a", f"atempo={factor:.6f}",
               "-f", "f32le", "pipe:1"]
    result = subprocess.run(command, input=np.asarray(samples, dtype="<f4").tobytes(),
                            capture_output=True, check=True)
    return np.frombuffer(result.stdout, dtype="<f4").astype(np.float32)
