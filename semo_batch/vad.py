"""Voice activity in frames: pure array code (:mod:`semo_batch.segment` explains the settings).

Frames are ``FRAME_SECONDS`` long, one every ``HOP_SECONDS``; frame ``t`` starts at sample
``t * hop``.  :func:`frame_stats` measures them, :func:`noise_floor` and :func:`speech_mask`
decide which are speech, and :class:`Cutter` turns the mask into regions and pieces.  Each
step looks a bounded number of frames around a frame (``floor_reach`` blocks, ``mask_reach``
frames, runs followed with O(1) state), which is what lets a stream of blocks get the same answer.
"""

from __future__ import annotations

import numpy as np

from .features import fft

__all__ = ["FRAME_SECONDS", "HOP_SECONDS", "BLOCK", "Cutter", "frames", "geometry", "frame_stats", "block_floor",
           "noise_floor", "floor_reach", "speech_mask", "mask_reach"]

FRAME_SECONDS = 0.032
HOP_SECONDS = 0.010
#: Frames per noise-floor block (1 s).
BLOCK = 100
_LAGS = (0.0025, 0.016)  # seconds: F0 of 400 Hz down to 62 Hz
_SMOOTH = 5  # half-width in frames of the smoothing before looking for the quietest frame


def frames(seconds: float) -> int:
    """A duration in whole hops (at least one)."""
    return max(1, round(seconds / HOP_SECONDS))


def geometry(sr: int) -> tuple[int, int]:
    """(frame length, hop) in samples at ``sr``."""
    return round(FRAME_SECONDS * sr), round(HOP_SECONDS * sr)


def frame_stats(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Log-energy and periodicity of every complete frame of ``y`` (frame ``t`` starts at ``t * hop``).

    Args:
        y: mono signal [shape=(n,)], float.
        sr: its sample rate in Hz.

    Returns:
        ``(energy, peak)``, both [shape=(frames,)]: mean power in dB (re full scale, -100 for
        digital silence) and the highest normalized cross-correlation of the frame with itself
        shifted by 2.5-16 ms, in [-1, 1] (about 1 for a steady vowel; white noise stays under
        0.3, pink noise passes 0.5 on about 1% of frames, never 5 in a row).
    """
    length, hop = geometry(sr)
    lo, hi = (round(s * sr) for s in _LAGS)
    n = 0 if len(y) < length else 1 + (len(y) - length) // hop
    energy, peak = np.empty(n), np.empty(n)
    if n == 0:
        return energy, peak
    nfft = fft.next_fast_len(length + hi)
    view = np.lib.stride_tricks.sliding_window_view(y, length)[::hop]
    lags = np.arange(lo, hi + 1)
    for i in range(0, n, 2048):  # batches keep the temporaries to a few MB
        f = view[i:i + 2048].astype(np.float64)
        energy[i:i + len(f)] = 10.0 * np.log10(np.mean(f * f, axis=1) + 1e-10)
        d = f - f.mean(axis=1, keepdims=True)
        spec = fft.rfft(d, nfft)
        r = fft.irfft(spec.real ** 2 + spec.imag ** 2, nfft)[:, lo:hi + 1]
        c = np.concatenate([np.zeros((len(d), 1)), np.cumsum(d * d, axis=1)], axis=1)
        m = d.shape[1]
        # Energies of the two overlapping parts at each lag: a correlation, not a covariance.
        e1, e2 = c[:, m - lags], c[:, m:m + 1] - c[:, lags]
        peak[i:i + len(f)] = (r / np.sqrt(e1 * e2 + 1e-20)).max(axis=1)
    return energy, peak


def floor_reach(window: float) -> int:
    """Blocks on each side of a block that its noise floor looks at, for a window of ``window`` s."""
    return max(0, round(window / 2 / (BLOCK * HOP_SECONDS)))


def block_floor(energy: np.ndarray, *, percentile: float, min_db: float) -> float:
    """The noise floor (dB) of one block: a low percentile of the frame energies of its window."""
    return max(float(np.percentile(energy, percentile)), min_db)


def noise_floor(energy: np.ndarray, *, percentile: float, window: float, min_db: float) -> np.ndarray:
    """The noise floor of every frame [shape=energy.shape], dB: per block of ``BLOCK`` frames,
    :func:`block_floor` of the frames within ``window / 2`` seconds of it."""
    n, k = len(energy), floor_reach(window)
    out = np.empty(n)
    for b in range(0, -(-n // BLOCK)):
        out[b * BLOCK:(b + 1) * BLOCK] = block_floor(
            energy[max(0, (b - k) * BLOCK):(b + k + 1) * BLOCK], percentile=percentile, min_db=min_db)
    return out


def mask_reach(*, min_voiced: float, voiced_pad: float) -> int:
    """Frames on each side of a frame that :func:`speech_mask` looks at."""
    return frames(voiced_pad) + frames(min_voiced) - 1


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def speech_mask(rel: np.ndarray, peak: np.ndarray, *, loud_db: float, voiced_db: float, voicing: float,
                min_voiced: float, voiced_pad: float) -> np.ndarray:
    """Which frames are speech: loud frames near a run of voiced ones (see the module docstring).

    Args:
        rel: frame energies above the noise floor, dB [shape=(frames,)].
        peak: periodicity of the frames (from :func:`frame_stats`) [shape=(frames,)].

    Returns:
        bool [shape=(frames,)].
    """
    voiced = (peak >= voicing) & (rel > voiced_db)
    starts, ends = _runs(voiced)
    long = ends - starts >= frames(min_voiced)
    edges = np.zeros(len(rel) + 1, dtype=np.int64)
    np.add.at(edges, starts[long], 1)
    np.add.at(edges, ends[long], -1)
    core = np.cumsum(edges[:-1]) > 0
    pad, i = frames(voiced_pad), np.arange(len(rel))
    c = np.concatenate([[0], np.cumsum(core)])
    near = c[np.minimum(i + pad + 1, len(rel))] > c[np.maximum(i - pad, 0)]
    return (rel > loud_db) & near


class Cutter:
    """Speech mask -> regions and pieces, in frames; fed chunk by chunk (any chunking gives
    the same result), holding only a few integers and the energies of the open utterance.

    Args (all in frames): ``bridge``: speech runs closer than this are one region; ``keep``:
    shorter regions are dropped; ``pause``: regions closer than this are one utterance;
    ``merge``, ``min_len``, ``max_len``: utterances longer than ``max_len`` are cut at their
    quietest frame, and a piece shorter than ``min_len`` joins a neighbour at most ``merge``
    away when the two span at most ``max_len``.  ``record``: keep the list of regions.

    ``pieces`` collects the pieces that are final (the caller takes them); ``speech`` counts
    the frames of the regions kept.
    """

    def __init__(self, *, bridge: int, keep: int, pause: int, merge: int, min_len: int, max_len: int,
                 record: bool = False) -> None:
        self.bridge, self.keep, self.pause, self.merge, self.min_len, self.max_len = bridge, keep, pause, merge, min_len, max_len
        self.t = self.e0 = self.speech = 0
        self.energy = np.zeros(0)
        self.run: int | None = None  # start of the speech run in progress
        self.region: list[int] | None = None  # [start, end of its last finished run]
        self.kept = False  # the region is long enough to stay, and is part of the utterance
        self.utt: list[int] | None = None
        self.last: tuple[int, int] | None = None  # the piece that may still merge with the next
        self.pieces: list[tuple[int, int]] = []
        self.regions: list[tuple[int, int]] | None = [] if record else None

    def push(self, mask: np.ndarray, energy: np.ndarray) -> None:
        """The speech mask and the energies (dB) of the next frames."""
        base = self.t
        self.energy = np.concatenate([self.energy, energy])
        d = np.diff(np.concatenate(([self.run is not None], mask)).astype(np.int8))
        for j in np.flatnonzero(d).tolist():
            if d[j] > 0:
                self._start(base + j)
            else:
                self._end(base + j)
        self.t = base + len(mask)
        self._settle()

    def finish(self) -> None:
        if self.run is not None:
            self._end(self.t)
        self._close_region()
        self._close_utt()
        if self.last is not None:
            self.pieces.append(self.last)
            self.last = None

    def earliest(self) -> int:
        """The first frame any piece still to come can start at."""
        return min(x for x in (self.t, *(self.last or ())[:1], *(self.utt or ())[:1], *(self.region or ())[:1]))

    def _start(self, s: int) -> None:
        if self.region is None or s - self.region[1] >= self.bridge:
            self._close_region()
            self.region = [s, s]
        self.run = s

    def _end(self, e: int) -> None:
        assert self.region is not None
        self.run, self.region[1] = None, e

    def _keep(self) -> None:
        assert self.region is not None
        if self.utt is None or self.region[0] - self.utt[1] >= self.pause:
            self._close_utt()
            self.utt = [self.region[0], self.region[1]]
        self.kept = True

    def _close_region(self) -> None:
        if self.region is None:
            return
        a, b = self.region
        if not self.kept and b - a >= self.keep:
            self._keep()
        if self.kept:
            assert self.utt is not None
            self.utt[1] = b
            self.speech += b - a
            if self.regions is not None:
                self.regions.append((a, b))
        self.region, self.kept = None, False

    def _settle(self) -> None:
        """What the frames so far decide for sure: closed regions and utterances, early cuts, final pieces."""
        t, region = self.t, self.region
        if region is not None and self.run is None and t - region[1] >= self.bridge:
            self._close_region()
            region = None
        if region is not None and not self.kept and (t if self.run is not None else region[1]) - region[0] >= self.keep:
            self._keep()
        if self.utt is not None and not self.kept and (region[0] if region is not None else t) - self.utt[1] >= self.pause:
            self._close_utt()
        if self.utt is not None:
            known = (t if self.run is not None else region[1]) if region is not None and self.kept else self.utt[1]
            while known - self.utt[0] > 2 * self.max_len:
                self.utt[0] = self._greedy(self.utt[0])
        if self.last is not None and self.earliest() - self.last[1] > self.merge:
            self.pieces.append(self.last)
            self.last = None
        drop = self.earliest() - self.e0
        self.energy, self.e0 = self.energy[drop:], self.e0 + drop

    def _quietest(self, lo: int, hi: int, a: int, z: int) -> int:
        """The frame in [lo, hi] of least energy averaged over its neighbours in [a, z)."""
        e = self.energy[a - self.e0:z - self.e0]
        c = np.concatenate([[0.0], np.cumsum(e)])
        i = np.arange(lo, hi + 1) - a
        left, right = np.maximum(i - _SMOOTH, 0), np.minimum(i + _SMOOTH + 1, len(e))
        return lo + int(np.argmin((c[right] - c[left]) / (right - left)))

    def _greedy(self, a: int) -> int:
        """Cut off the first piece of an utterance that goes on past ``a + 2 * max``; returns the cut."""
        c = self._quietest(a + self.max_len // 2, a + self.max_len, a, a + self.max_len + _SMOOTH + 1)
        self._piece(a, c)
        return c

    def _close_utt(self) -> None:
        if self.utt is None:
            return
        a, b = self.utt
        self.utt = None
        while b - a > 2 * self.max_len:
            a = self._greedy(a)
        if b - a > self.max_len:
            lo, hi = max(b - self.max_len, a + self.min_len), min(a + self.max_len, b - self.min_len)
            mid_lo, mid_hi = max(lo, a + (b - a) // 4), min(hi, a + 3 * (b - a) // 4)
            c = self._quietest(*((mid_lo, mid_hi) if mid_lo <= mid_hi else (lo, hi)), a, b)
            self._piece(a, c)
            a = c
        self._piece(a, b)

    def _piece(self, a: int, b: int) -> None:
        if self.last is not None:
            la, lb = self.last
            short = lb - la < self.min_len or b - a < self.min_len
            if short and a - lb <= self.merge and b - la <= self.max_len:
                self.last = (la, b)
                return
            self.pieces.append(self.last)
        self.last = (a, b)
