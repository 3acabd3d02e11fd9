"""Streaming: decode a file block by block and cut the blocks into segments, in flat memory.

:class:`AudioStream` reads a file a few seconds at a time with libsndfile, averages the
channels and resamples with soxr's streaming resampler, so a two-hour recording never sits
in memory; :class:`StreamSegmenter` turns those blocks into ``(Segment, samples)`` pairs as
soon as each segment is final, holding about ``floor_window / 2 + 3 * max_seconds`` seconds of
audio at most (30-50 s).  It gives the segments :func:`semo_batch.segment.segment` gives for the whole signal
(every step of the detector looks a bounded way ahead; ``tests/test_stream.py`` checks it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import TracebackType

import numpy as np
import soundfile as sf
import soxr

from . import vad
from .audio import AudioInfo, _header, _open, _reason, _sound_file, to_mono
from .errors import AudioError
from .segment import (
    Segment,
    SegmentMode,
    SegmentParams,
    audio_slice,
    cutter,
    fixed_pieces,
    floor_of,
    floor_reach,
    frame_times,
    join_short_file,
    mask_of,
    mask_reach,
)

__all__ = ["AudioStream", "StreamSegmenter", "BLOCK_SECONDS"]

#: Seconds of the file read at a time (at its own rate); what a damaged file loses at most.
BLOCK_SECONDS = 2.0

_DECODE_ERRORS = (sf.LibsndfileError, RuntimeError, OSError, ValueError)


class AudioStream:
    """A file decoded block by block into mono float32 at ``sr`` Hz.

    Iterating yields blocks [shape=(n,)] in order.  A file damaged part-way yields the blocks
    decoded before the damage, then raises :class:`~semo_batch.errors.AudioError`; so::

        with AudioStream(path, sr=16000) as stream:
            try:
                for block in stream:
                    ...
            except AudioError as exc:
                ...  # keep what was done, record exc.reason

    Args:
        path: any file libsndfile decodes.
        sr: the rate to resample to.
        max_duration: refuse a file whose header says it is longer (seconds), and stop with an
            error when this much has been read (a header can lie); ``None``: no limit.

    Raises:
        AudioError: at once, when the file is missing, unreadable, not audio, or too long by its header.
    """

    def __init__(self, path: str | os.PathLike[str], *, sr: int, max_duration: float | None = None) -> None:
        self.path, self.sr, self.max_duration = os.fspath(path), sr, max_duration
        self._fh = _open(self.path)
        try:
            self._file = _sound_file(self._fh, self.path)  # reads through the descriptor, as audio.load
        except AudioError:
            self._fh.close()
            raise
        self.info: AudioInfo = _header(self._file)
        problem = None
        if self.info.sample_rate <= 0:
            problem = f"invalid sample rate {self.info.sample_rate} Hz in the header"
        elif max_duration is not None and self.info.duration > max_duration:
            problem = f"is {self.info.duration:.1f} s long, over the {max_duration:g} s limit (raise it with --max-duration)"
        if problem is not None:
            self.close()
            raise AudioError(self.path, problem)
        #: Frames decoded so far, at the file's own rate.
        self.frames_read = 0

    @property
    def seconds_read(self) -> float:
        return self.frames_read / self.info.sample_rate

    def __enter__(self) -> AudioStream:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        self._fh.close()

    def _read(self, frames: int) -> np.ndarray:
        if self.info.subtype == "PCM_16":  # as audio.load: numpy's int16 -> float32 is faster
            raw = self._file.read(frames, dtype="int16", always_2d=True)
            return to_mono(raw.astype(np.float32) * np.float32(1.0 / 32768.0))
        return to_mono(self._file.read(frames, dtype="float32", always_2d=True))

    def __iter__(self) -> Iterator[np.ndarray]:
        rate = self.info.sample_rate
        resampler = None if rate == self.sr else soxr.ResampleStream(rate, self.sr, 1, dtype="float32", quality="HQ")
        step = max(1, int(BLOCK_SECONDS * rate))
        limit = None if self.max_duration is None else int(self.max_duration * rate) + 1
        problem = None
        while problem is None:
            try:
                y = self._read(step)
            except _DECODE_ERRORS as exc:
                problem = f"cannot decode samples after {self.seconds_read:.1f} s ({_reason(exc)})"
                break
            if len(y) == 0:
                break
            if not np.isfinite(y).all():
                where = f" after {self.seconds_read:.1f} s" if self.seconds_read > 0 else ""
                problem = f"contains NaN or infinite sample values{where}"
                break
            self.frames_read += len(y)
            if limit is not None and self.frames_read >= limit:
                problem = f"is longer than the {self.max_duration:g} s limit (raise it with --max-duration)"
            out = y if resampler is None else resampler.resample_chunk(y)
            if len(out):
                yield out
        if resampler is not None:  # what the resampler still holds belongs to the good part
            tail = resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                yield tail
        if problem is None and self.frames_read == 0:
            problem = "holds no audio samples"
        if problem is not None:
            raise AudioError(self.path, problem)


class StreamSegmenter:
    """Blocks of a mono signal at ``sr`` Hz in, ``(Segment, samples)`` out, as soon as each is final.

    ``push`` each block in order, then ``finish`` once; the pairs come in time order, the
    segments are those :func:`semo_batch.segment.segment` finds on the whole signal, and the
    samples are those :func:`semo_batch.segment.audio_slice` gives (with the context).  The
    ``none`` mode holds the whole file (its one segment is the file).
    """

    def __init__(self, sr: int, params: SegmentParams | None = None) -> None:
        self.sr, self.params = sr, params or SegmentParams()
        self.n = 0  # samples pushed
        self._buf, self._b0 = np.zeros(0, dtype=np.float32), 0  # samples [b0, b0 + len) held
        self._frames = self._floored = self._masked = 0  # frames analysed / with a floor / with a final mask
        self._energy, self._peak, self._f0 = np.zeros(0), np.zeros(0), 0  # frame stats from frame f0
        self._rel, self._rpeak, self._r0 = np.zeros(0), np.zeros(0), 0  # above the floor, from frame r0
        self._cutter = cutter(self.params)
        self._held: list[Segment] = []
        self._emitted = 0  # fixed mode: pieces given out
        self._finished = False

    @property
    def speech_seconds(self) -> float:
        """Seconds of speech found so far (``auto`` mode; the regions, before they are cut or joined)."""
        return self._cutter.speech * vad.HOP_SECONDS

    @property
    def buffered_seconds(self) -> float:
        """Seconds of audio held now (bounded in ``auto`` and ``fixed`` modes, whatever the length)."""
        return len(self._buf) / self.sr

    def push(self, block: np.ndarray) -> list[tuple[Segment, np.ndarray]]:
        """The next samples [shape=(n,)]; returns the segments this made final, with their samples."""
        if self._finished:
            raise RuntimeError("StreamSegmenter.push after finish")
        self._buf = np.concatenate([self._buf, np.asarray(block, dtype=np.float32)])
        self.n += len(block)
        return self._step(final=False)

    def finish(self) -> list[tuple[Segment, np.ndarray]]:
        """The segments that remain once the signal has ended."""
        if self._finished:
            return []
        self._finished = True
        return self._step(final=True)

    def _step(self, final: bool) -> list[tuple[Segment, np.ndarray]]:
        mode = self.params.mode
        if mode is SegmentMode.NONE:
            return [(Segment(0.0, self.n / self.sr), self._buf)] if final and self.n else []
        if mode is SegmentMode.FIXED:
            return self._fixed(final)
        self._analyse(final)
        if final:
            self._cutter.finish()
        self._held += [frame_times(a, b, self.sr, self.n, self._frames if final else None)
                       for a, b in self._cutter.pieces]
        self._cutter.pieces = []
        out: list[Segment] = []
        ctx = round(self.params.context_seconds * self.sr)
        if final:
            out, self._held = join_short_file(self._held, self.n, self.sr, self.params), []
        elif self.n > self.params.max_seconds * self.sr:  # not a short file; held until its context is in
            ready = next((i for i, s in enumerate(self._held) if round(s.end * self.sr) + ctx > self.n), len(self._held))
            out, self._held = self._held[:ready], self._held[ready:]
        pairs = [(s, self._samples(s)) for s in out]
        length, hop = vad.geometry(self.sr)
        keep = min(self._cutter.earliest(), self._frames) * hop
        if self._held:
            keep = min(keep, round(self._held[0].start * self.sr))
        self._drop_samples(keep - ctx)
        return pairs

    def _analyse(self, final: bool) -> None:
        """Frame stats of the new complete frames, floors of the blocks whose window is complete,
        and the speech mask of the frames whose neighbourhood is, into the cutter."""
        length, hop = vad.geometry(self.sr)
        total = 0 if self.n < length else 1 + (self.n - length) // hop
        if total > self._frames:
            a = self._frames * hop - self._b0
            e, p = vad.frame_stats(self._buf[a:a + (total - self._frames - 1) * hop + length], self.sr)
            self._energy, self._peak = np.concatenate([self._energy, e]), np.concatenate([self._peak, p])
            self._frames = total
        k, B = floor_reach(self.params), vad.BLOCK
        while self._floored < self._frames:
            b = self._floored // B
            lo, hi = max(0, (b - k) * B), (b + k + 1) * B
            if hi > self._frames and not final:
                break
            floor = floor_of(self._energy[lo - self._f0:hi - self._f0], self.params)
            end = min((b + 1) * B, self._frames)
            sl = slice(b * B - self._f0, end - self._f0)
            self._rel = np.concatenate([self._rel, self._energy[sl] - floor])
            self._rpeak = np.concatenate([self._rpeak, self._peak[sl]])
            self._floored = end
        reach = mask_reach(self.params)
        upto = self._floored if final else self._floored - reach
        if upto > self._masked:
            lo = max(0, self._masked - reach)
            mask = mask_of(self._rel[lo - self._r0:], self._rpeak[lo - self._r0:], self.params)
            self._cutter.push(mask[self._masked - lo:upto - lo], self._energy[self._masked - self._f0:upto - self._f0])
            self._masked = upto
        # Keep what the next floor windows and masks need, nothing older.
        f_keep = min(max(0, (self._floored // B - k) * B), self._masked)
        self._energy, self._peak, self._f0 = self._energy[f_keep - self._f0:], self._peak[f_keep - self._f0:], f_keep
        r_keep = max(0, self._masked - reach)
        self._rel, self._rpeak, self._r0 = self._rel[r_keep - self._r0:], self._rpeak[r_keep - self._r0:], r_keep

    def _fixed(self, final: bool) -> list[tuple[Segment, np.ndarray]]:
        assert self.params.seconds is not None
        step, sr = self.params.seconds, self.sr
        if final:
            pieces = fixed_pieces(self.n, sr, self.params)[self._emitted:]
        else:  # a piece is final once what follows it is too long to be a tail joining it
            pieces = []
            k = self._emitted
            while self.n >= ((k + 1) * step + self.params.min_seconds) * sr:
                pieces.append(Segment(k * step, (k + 1) * step))
                k += 1
        self._emitted += len(pieces)
        pairs = [(s, self._samples(s)) for s in pieces]
        self._drop_samples(round(self._emitted * step * sr))
        return pairs

    def _samples(self, s: Segment) -> np.ndarray:
        part = audio_slice(s, self.sr, self.n, self.params)
        assert part.start >= self._b0
        return self._buf[part.start - self._b0:part.stop - self._b0].copy()

    def _drop_samples(self, keep: int) -> None:
        drop = max(0, min(keep, self._b0 + len(self._buf)) - self._b0)
        self._buf, self._b0 = self._buf[drop:], self._b0 + drop

