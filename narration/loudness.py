"""Podcast loudness: about −16 LUFS integrated, true peak safely under −1 dBTP.

A sample peak under −1 dBFS can still reconstruct above it between samples, and decoders then
clip; pyloudnorm reports only sample peak. So the true peak is estimated here by 4×
oversampling (as BS.1770 annex 2 does) and a small look-ahead limiter keeps it under a
ceiling. We wrote our own instead of running ffmpeg's `loudnorm`: that filter upsamples to
192 kHz and switches to dynamic (compressing) mode whenever its linear mode cannot meet the
peak target, and keeping this in numpy lets tests check each step.

Limiting lowers loudness, so the gain that meets the target after limiting is searched for.
Loudness is computed from per-block energies of the K-weighted signal (pyloudnorm's filters,
BS.1770 gating): the same figure pyloudnorm gives (tests hold them within 0.02 LU), and since
gain changes slowly compared to the filters, a candidate gain is judged by scaling block
energies, in milliseconds, instead of re-filtering the whole episode.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pyloudnorm
import scipy.signal
import soxr
from numpy.lib.stride_tricks import sliding_window_view

from narration.audio import Audio

log = logging.getLogger(__name__)

TARGET_LUFS = -16.0
TRUE_PEAK_CEILING = -2.0
"""dBTP before encoding, a dB under the podcast target of −1 dBTP for the MP3 coder's overshoot.
At 64 kbit/s it raised Piper speech's true peak by 1.4–1.9 dB at a few places in 20 minutes;
rather than limit every peak that far down, `narration.encode` measures the decoded file and
pulls down just those places."""
OVERSAMPLING = 4
RAMP_SECONDS = 0.01
"""How far ahead of a peak the limiter starts turning down, and how slowly it lets go."""
SAFETY_DB = 0.05
"""Headroom for the small difference between a gain that moves and one that is held."""
TOLERANCE_LU = 0.1
MAX_EXTRA_GAIN_DB = 6.0
"""Gain allowed beyond what loudness alone asks for, to make up for what the limiter takes;
squashing speech harder sounds worse than being a little quiet."""
GATE_ABSOLUTE = -70.0
LOUDNESS_WARNING_LU = 1.0
"""Missing the target by more than this is worth a warning: the podcast norm allows ±1 LU."""


@dataclass(frozen=True)
class Loudness:
    """A measurement: integrated loudness in LUFS and estimated true peak in dBTP."""

    lufs: float
    true_peak: float


def integrated_loudness(audio: Audio) -> float:
    """BS.1770 integrated loudness, or -inf for silence or clips under one 0.4 s gating block.

    Same filters and gating as pyloudnorm, computed from block energies: about 3× faster,
    which matters when every encode is measured.
    """
    samples = np.asarray(audio.samples, dtype=np.float32)
    if len(samples) < round(0.4 * audio.rate) or not np.any(samples):
        return -math.inf
    block = block_size(audio.rate)
    return _gated_loudness(_weighted_block_energies(samples, audio.rate, block), audio.rate, block)


def short_loudness(audio: Audio) -> float:
    """Loudness of a clip read as one gating block however long it is (-inf for silence).

    For clips under 0.4 s, which have no integrated loudness: the mean K-weighted energy over
    the stretch between the first and last non-silent sample, as BS.1770 reads one block.
    """
    samples = np.asarray(audio.samples, dtype=np.float32)
    sounding = np.flatnonzero(samples)
    if not len(sounding):
        return -math.inf
    block = block_size(audio.rate)
    energies = _weighted_block_energies(samples, audio.rate, block)
    span = (sounding[-1] - sounding[0] + 1)
    return float(-0.691 + 10 * np.log10(max(energies.sum(), 1e-20) / span))


MAX_SHORT_GAIN_DB = 12.0
"""Largest gain `normalize_groups` gives a group too short to measure by gating."""


def normalize_groups(clips: list[np.ndarray], groups: list[bool], rate: int) -> list[np.ndarray]:
    """The clips with each group (the unmarked and the marked ones in `groups`), heard end to
    end, brought to the podcast loudness under the true-peak ceiling (`normalize_loudness`):
    two voices at one loudness.

    Matching the groups' loudness alone is not enough: the part's own normalization then limits
    the peakier voice harder (Piper against Kokoro: 1.9 dB more), so each voice meets the
    ceiling first, and the part's normalization finds them level and leaves them so. A group
    too short for gated loudness (under 0.4 s) gets the gain its `short_loudness` asks for,
    at most `MAX_SHORT_GAIN_DB`, and the part's limiter sees to its peaks.
    """
    out = list(clips)
    for marked in (False, True):
        indexes = [i for i, group in enumerate(groups) if group == marked and len(clips[i])]
        if not indexes:
            continue
        joined = Audio(np.concatenate([clips[i] for i in indexes]).astype(np.float32), rate)
        if math.isfinite(integrated_loudness(joined)):
            leveled = normalize_loudness(joined).samples
        else:
            loudness = short_loudness(joined)
            if not math.isfinite(loudness):
                continue
            gain_db = max(-MAX_SHORT_GAIN_DB, min(MAX_SHORT_GAIN_DB, TARGET_LUFS - loudness))
            leveled = joined.samples * np.float32(10 ** (gain_db / 20))
        position = 0
        for i in indexes:
            out[i] = leveled[position:position + len(clips[i])]
            position += len(clips[i])
    return out


def block_size(rate: int) -> int:
    """Samples per limiter gain step: about 1.5 ms, and a divisor of the 100 ms gating hop so
    block energies add up to gating blocks exactly."""
    hop = rate // 10
    return max(size for size in range(1, 65) if hop % size == 0)


OVERSHOOT_DB = 3.5
"""Headroom over the sample peak that reconstruction between samples can add in real audio
(a full-scale sine at a quarter of the sample rate gives 3 dB). A block whose sample peak sits
further than this below every level that matters cannot reach it, so it is not oversampled."""
CONTEXT = 64
"""Samples of context either side of an oversampled stretch, for the resampling filter."""
MERGE_BLOCKS = 64
"""Candidate blocks closer than this (about 0.1 s) are oversampled in one stretch."""


def block_true_peaks(samples: np.ndarray, rate: int, block: int,
                     relevant_above: float = 0.0) -> np.ndarray:
    """Largest absolute value of the 4× oversampled signal within each block of `block` samples.

    Only blocks whose sample peak comes within OVERSHOOT_DB of `relevant_above` (a linear level)
    are oversampled; the others keep their sample peak, which is all a limiter or a maximum
    needs from them. Speech peaks are sparse, so this oversamples a few percent of an episode
    instead of all of it (4× fewer samples to filter, and no 4× copy in memory).
    """
    samples = np.asarray(samples, dtype=np.float32)
    peaks = _block_peaks(samples, block)
    candidates = (peaks * 10 ** (OVERSHOOT_DB / 20) >= relevant_above) & (peaks > 0)
    for first, last in _runs(candidates, bridge=MERGE_BLOCKS):
        start, stop = first * block, min(len(samples), (last + 1) * block)
        lo, hi = max(0, start - CONTEXT), min(len(samples), stop + CONTEXT)
        upsampled = np.abs(soxr.resample(samples[lo:hi], rate, rate * OVERSAMPLING, quality="HQ"))
        width = block * OVERSAMPLING
        region = upsampled[(start - lo) * OVERSAMPLING:][:(last + 1 - first) * width]
        region = np.pad(region, (0, (last + 1 - first) * width - len(region)))
        peaks[first:last + 1] = np.maximum(peaks[first:last + 1],
                                           region.reshape(-1, width).max(axis=1))
    return peaks


def _block_peaks(samples: np.ndarray, block: int) -> np.ndarray:
    """Largest absolute sample per block, from views: no copy of a long clip."""
    whole = len(samples) // block * block
    body = samples[:whole].reshape(-1, block)
    peaks = np.maximum(body.max(axis=1), -body.min(axis=1)) if whole else np.zeros(0, np.float32)
    if whole < len(samples):
        peaks = np.append(peaks, np.abs(samples[whole:]).max())
    return peaks


def _runs(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in `mask`, runs less than `bridge` apart joined
    (one resampler call per stretch of loud speech rather than one per peak)."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    firsts, lasts = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    if not len(firsts):
        return []
    keep = np.concatenate(([True], firsts[1:] - lasts[:-1] > bridge))
    return list(zip(firsts[keep], np.concatenate((lasts[:-1][keep[1:]], lasts[-1:]))))


def true_peak(audio: Audio) -> float:
    """Estimated true peak in dBTP (-inf for silence)."""
    sample_peak = float(np.max(np.abs(audio.samples))) if len(audio.samples) else 0.0
    peaks = block_true_peaks(audio.samples, audio.rate, block_size(audio.rate),
                             relevant_above=sample_peak)
    peak = float(peaks.max()) if len(peaks) else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def measure(audio: Audio) -> Loudness:
    """Integrated loudness and true peak of a clip."""
    return Loudness(integrated_loudness(audio), true_peak(audio))


def limiter_gain(peaks: np.ndarray, ceiling_db: float, rate: int, block: int) -> np.ndarray:
    """Per-block gain (≤ 1) that keeps every block's peak under `ceiling_db`, gliding smoothly.

    The gain each block needs is held for `RAMP_SECONDS` either side (the look-ahead), then
    averaged over a slightly narrower window, so it glides instead of stepping; because the
    average never reaches past the hold, every block and its neighbours get at most the gain
    that block needs, which is what linear interpolation between block centres relies on.
    """
    ceiling = 10 ** ((ceiling_db - SAFETY_DB) / 20)
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if not len(needed) or needed.min() >= 1.0:
        return np.ones(len(peaks), dtype=np.float32)
    radius = max(2, round(RAMP_SECONDS * rate / block))
    held = _sliding(needed, radius, np.min)
    return _sliding(held, radius - 1, np.mean).astype(np.float32)


def limit_true_peak(samples: np.ndarray, rate: int, ceiling_db: float = TRUE_PEAK_CEILING, *,
                    peaks_of: np.ndarray | None = None) -> np.ndarray:
    """The samples with their true peak held under `ceiling_db`; quieter parts untouched.

    `peaks_of` judges peaks on another, aligned signal instead: the decoded MP3, whose peaks
    the encoder moved, so only the places that overshot are turned down.
    """
    block = block_size(rate)
    reference = samples if peaks_of is None else peaks_of
    peaks = block_true_peaks(reference, rate, block, relevant_above=10 ** (ceiling_db / 20))
    gain = limiter_gain(peaks, ceiling_db, rate, block)
    return _apply_block_gain(samples, gain[:-(-len(samples) // block)], block)


def normalize_loudness(audio: Audio, *, target_lufs: float = TARGET_LUFS,
                       ceiling_db: float = TRUE_PEAK_CEILING) -> Audio:
    """The clip at `target_lufs` (±0.1 LU) with its true peak under `ceiling_db`.

    The peak ceiling always holds; loudness is met as closely as `MAX_EXTRA_GAIN_DB` of limiting
    allows. Silence and clips too short to measure come back unchanged (a gain of 0 dB).
    """
    samples = np.asarray(audio.samples, dtype=np.float32)
    rate, block = audio.rate, block_size(audio.rate)
    energies = _weighted_block_energies(samples, rate, block) if len(samples) else np.zeros(0)
    before = _gated_loudness(energies, rate, block)
    if not math.isfinite(before):
        log.info("loudness not measurable (silent or under 0.4 s); left unchanged")
        return audio
    # The largest pre-gain the search may try decides which peaks could ever reach the ceiling.
    loudest = 10 ** ((target_lufs - before + MAX_EXTRA_GAIN_DB + 1.0) / 20)
    peaks = block_true_peaks(samples, rate, block, relevant_above=10 ** (ceiling_db / 20) / loudest)
    aim = target_lufs
    for _ in range(2):
        gain, pre_gain_db = _search_gain(peaks, energies, aim, target_lufs - before, ceiling_db,
                                         rate, block)
        out = _apply_block_gain(samples, gain, block)
        after = _gated_loudness(_weighted_block_energies(out, rate, block), rate, block)
        if abs(after - target_lufs) <= TOLERANCE_LU:
            break
        aim += target_lufs - after  # the estimate was off by this much; aim past it once
    depth = max(0.0, pre_gain_db - 20 * math.log10(max(float(gain.min()), 1e-9)))
    log.info("loudness %.1f → %.1f LUFS (gain %+.1f dB, limiter down to −%.1f dB)", before,
             after, pre_gain_db, depth)
    if abs(after - target_lufs) > LOUDNESS_WARNING_LU:
        log.warning("audio is %.1f LU off the %.1f LUFS target: its peaks are unusually high",
                    abs(after - target_lufs), target_lufs)
    return Audio(out, rate)


def _search_gain(peaks: np.ndarray, energies: np.ndarray, target: float, first_gain_db: float,
                 ceiling_db: float, rate: int, block: int) -> tuple[np.ndarray, float]:
    """Per-block total gain (pre-gain × limiter) whose estimated loudness is `target`, and the
    pre-gain in dB. Bisection: estimated loudness only grows with the pre-gain, and each try
    costs milliseconds. Past `MAX_EXTRA_GAIN_DB` it settles for the loudest allowed."""
    low, high = first_gain_db - 30.0, first_gain_db + MAX_EXTRA_GAIN_DB
    while high - low > 0.005:
        middle = (low + high) / 2
        gain = _total_gain(peaks, middle, ceiling_db, rate, block)
        if _gated_loudness(energies * gain.astype(np.float64) ** 2, rate, block) < target:
            low = middle
        else:
            high = middle
    return _total_gain(peaks, low, ceiling_db, rate, block), low


def _total_gain(peaks: np.ndarray, gain_db: float, ceiling_db: float, rate: int,
                block: int) -> np.ndarray:
    """Pre-gain followed by the limiter, per block."""
    scale = np.float32(10 ** (gain_db / 20))
    return scale * limiter_gain(peaks * scale, ceiling_db, rate, block)


def _weighted_block_energies(samples: np.ndarray, rate: int, block: int) -> np.ndarray:
    """Sum of squares of the K-weighted signal per block.

    pyloudnorm's own BS.1770 filter stages, run as one float32 `sosfilt` cascade: 3–4× faster
    than its float64 `lfilter` passes, and plenty accurate for an estimate it later verifies.
    """
    stages = (pyloudnorm.IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"),
              pyloudnorm.IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"))
    sos = np.array([np.concatenate([stage.b, stage.a]) / stage.a[0] for stage in stages])
    weighted = scipy.signal.sosfilt(sos.astype(np.float32), np.asarray(samples, dtype=np.float32))
    whole = len(weighted) // block * block
    blocks = weighted[:whole].reshape(-1, block)
    energies = np.einsum("ij,ij->i", blocks, blocks).astype(np.float64)
    if whole < len(weighted):
        tail = weighted[whole:].astype(np.float64)
        energies = np.append(energies, np.dot(tail, tail))
    return energies


def _gated_loudness(energies: np.ndarray, rate: int, block: int) -> float:
    """BS.1770 gated loudness from per-block energies: 400 ms windows every 100 ms."""
    per_hop = (rate // 10) // block
    if len(energies) < 4 * per_hop:
        return -math.inf
    hops = np.pad(energies, (0, -len(energies) % per_hop)).reshape(-1, per_hop).sum(axis=1)
    windows = sliding_window_view(hops, 4).sum(axis=1) / (0.4 * rate)
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(windows)
    gated = windows[levels > GATE_ABSOLUTE]
    if not len(gated):
        return -math.inf
    relative = -0.691 + 10 * np.log10(gated.mean()) - 10
    kept = windows[(levels > GATE_ABSOLUTE) & (levels > relative)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def _sliding(values: np.ndarray, radius: int, reduce) -> np.ndarray:
    """`reduce` over a window of ±radius around each value, edges extended."""
    if radius <= 0:
        return values
    padded = np.pad(values, radius, mode="edge")
    return reduce(sliding_window_view(padded, 2 * radius + 1), axis=1)


def _apply_block_gain(samples: np.ndarray, gain: np.ndarray, block: int) -> np.ndarray:
    """Multiply by a per-block gain interpolated linearly between block centres."""
    samples = np.asarray(samples, dtype=np.float32)
    if not len(gain) or np.all(gain == gain[0]):
        return samples * np.float32(gain[0] if len(gain) else 1.0)
    centres = np.arange(len(gain)) * block + (block - 1) / 2
    out = np.empty(len(samples), dtype=np.float32)
    step = block * 16384
    for start in range(0, len(samples), step):
        index = np.arange(start, min(start + step, len(samples)))
        out[index] = samples[index] * np.interp(index, centres, gain).astype(np.float32)
    return out
