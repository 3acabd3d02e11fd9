"""Voice activity and segmentation on synthetic recordings with known boundaries.

The recordings are made here: harmonic "voice" bursts (a gliding F0 with 11 harmonics, a
syllable-rate envelope, 20 ms ramps), white-noise bursts (not speech), and silences with a
faint noise floor.  ``recording`` is shared with test_stream.py and test_longform.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from semo_batch import vad
from semo_batch.errors import ConfigError
from semo_batch.segment import (
    Segment,
    SegmentMode,
    SegmentParams,
    audio_slice,
    find_speech,
    parse_segmenting,
    segment,
)

SR = 16_000


def voice(seconds: float, sr: int = SR, *, f0: tuple[float, float] = (120.0, 200.0), seed: int = 0) -> np.ndarray:
    """A voiced stretch: F0 gliding over ``f0`` with vibrato, 11 harmonics, syllables at 4 Hz."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    f = np.linspace(*f0, n) * (1 + 0.03 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 2 * np.pi))
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    return 0.1 * x * envelope * ramp


def recording(spec: list[tuple[str, float]], sr: int = SR, *, seed: int = 0, floor_db: float = -60.0):
    """``spec``: (``voice`` | ``noise`` | ``silence``, seconds) in order.

    Returns:
        float32 signal [shape=(n,)] and the (start, end) of every voice stretch, seconds.
    """
    rng = np.random.default_rng(seed)
    parts, truth, n = [], [], 0
    for k, (kind, seconds) in enumerate(spec):
        m = int(round(seconds * sr))
        if kind == "voice":
            parts.append(voice(seconds, sr, seed=seed + k, f0=(rng.uniform(100, 160), rng.uniform(150, 260))))
            truth.append((n / sr, (n + m) / sr))
        elif kind == "noise":
            parts.append(rng.standard_normal(m) * 0.05)
        else:
            parts.append(np.zeros(m))
        n += m
    y = np.concatenate(parts) + rng.standard_normal(n) * 10 ** (floor_db / 20)
    return y.astype(np.float32), truth


SPEC = [("silence", 1.0), ("voice", 2.0), ("silence", 0.8), ("noise", 0.6), ("silence", 1.2), ("voice", 1.4),
        ("silence", 0.6), ("voice", 0.9), ("silence", 2.0), ("noise", 1.5), ("silence", 0.7), ("voice", 3.3),
        ("silence", 1.0)]


def _close(found: list[Segment], truth: list[tuple[float, float]], tol: float = 0.1) -> bool:
    return len(found) == len(truth) and all(
        abs(s.start - a) <= tol and abs(s.end - b) <= tol for s, (a, b) in zip(found, truth))


def test_frame_stats_known_answers() -> None:
    t = np.arange(SR) / SR
    energy, peak = vad.frame_stats(0.5 * np.sin(2 * np.pi * 200 * t), SR)
    assert len(energy) == 1 + (SR - 512) // 160
    assert np.allclose(energy, 10 * np.log10(0.125), atol=0.1)  # a sine's power is A^2 / 2
    assert peak.min() > 0.99  # a period of 5 ms is in the lag range
    _, peak = vad.frame_stats(np.random.default_rng(0).standard_normal(5 * SR), SR)
    assert peak.max() < 0.4
    energy, peak = vad.frame_stats(np.zeros(SR), SR)
    assert np.all(energy == -100.0) and np.all(peak == 0.0)
    assert [len(a) for a in vad.frame_stats(np.zeros(100), SR)] == [0, 0]


def test_noise_floor_follows_a_change_of_level() -> None:
    rng = np.random.default_rng(1)
    y = np.concatenate([rng.standard_normal(40 * SR) * 10 ** (-60 / 20), rng.standard_normal(40 * SR) * 10 ** (-40 / 20)])
    energy, _ = vad.frame_stats(y, SR)
    floor = vad.noise_floor(energy, percentile=10.0, window=20.0, min_db=-75.0)
    assert abs(np.median(floor[500:2500]) - -60) < 1.5
    assert abs(np.median(floor[5500:7500]) - -40) < 1.5
    assert np.all(vad.noise_floor(np.full(300, -120.0), percentile=10, window=20, min_db=-75) == -75)


def test_speech_found_within_a_tenth_of_a_second_and_noise_bursts_are_not_speech() -> None:
    y, truth = recording(SPEC)
    assert _close(find_speech(y, SR), truth)


def test_boundaries_hold_at_other_rates_and_in_noise() -> None:
    y, truth = recording(SPEC, 48_000, seed=2)
    assert _close(find_speech(y, 48_000), truth)
    y, truth = recording(SPEC, seed=3, floor_db=-35.0)  # a steady noise 15 dB under the voice
    assert _close(find_speech(y, SR), truth, tol=0.15)


def test_segments_split_at_pauses_and_join_short_pieces() -> None:
    spec = [("silence", 1.0), ("voice", 2.5), ("silence", 0.7), ("voice", 3.0), ("silence", 0.2), ("voice", 1.0),
            ("silence", 2.5), ("voice", 0.5), ("silence", 0.7), ("voice", 2.0), ("silence", 3.0), ("voice", 0.6),
            ("silence", 3.0)]
    y, t = recording(spec)
    got = segment(y, SR)
    # 0.7 s pause: two utterances; 0.2 s: bridged; a 0.5 s word joins the next one 0.7 s away;
    # a 0.6 s word 3 s from anything stays alone.
    expect = [t[0], (t[1][0], t[2][1]), (t[3][0], t[4][1]), t[5]]
    assert _close(got, expect)


def test_a_short_clip_with_speech_is_one_segment_the_whole_file() -> None:
    # RAVDESS-like: 3.5 s, silence around two words with a pause that would split a long file;
    # it stays what it was before segmenting, one row for the whole file.
    y, t = recording([("silence", 0.9), ("voice", 0.8), ("silence", 0.6), ("voice", 0.7), ("silence", 0.5)])
    assert segment(y, SR) == [Segment(0.0, 3.5)]
    assert _close(find_speech(y, SR), t)
    long, t = recording([("silence", 0.9), ("voice", 0.8), ("silence", 0.6), ("voice", 0.7), ("silence", 5.5)])
    assert _close(segment(long, SR), [(t[0][0], t[1][1])])  # 8.5 s: segmented; two short words join


def test_the_audio_of_a_segment_has_context_around_it() -> None:
    params = SegmentParams()
    assert params.context_seconds == 0.5
    assert audio_slice(Segment(2.0, 3.0), SR, 10 * SR, params) == slice(int(1.5 * SR), int(3.5 * SR))
    assert audio_slice(Segment(0.2, 9.9), SR, 10 * SR, params) == slice(0, 10 * SR)
    assert audio_slice(Segment(2.0, 3.0), SR, 10 * SR, SegmentParams.fixed(1.0)) == slice(2 * SR, 3 * SR)


def test_no_speech_gives_no_segments() -> None:
    y, _ = recording([("silence", 2.0), ("noise", 1.0), ("silence", 3.0), ("noise", 2.0), ("silence", 1.0)])
    assert segment(y, SR) == [] and find_speech(y, SR) == []
    assert segment(np.zeros(0, np.float32), SR) == []


def test_a_long_stretch_is_cut_at_its_quiet_points_below_max_seconds() -> None:
    y, (whole,) = recording([("silence", 1.0), ("voice", 20.0), ("silence", 1.0)])
    for dip in (7.0, 14.0):  # 0.15 s nearly silent: quieter than any syllable, too short to be a pause
        a = int(dip * SR)
        y[a - 1200:a + 1200] *= 0.02
    got = segment(y, SR)
    assert [round(s.duration, 1) for s in got] == [6.0, 7.0, 7.0]
    assert all(abs(s.end - d) < 0.1 for s, d in zip(got, (7.0, 14.0)))
    assert got[0].start == pytest.approx(whole[0], abs=0.1) and got[-1].end == pytest.approx(whole[1], abs=0.1)
    # 40 s of talk whose pauses (0.35 s) are too short to end an utterance: cut by length alone.
    y, t = recording([("silence", 1.0)] + [("voice", 4.5), ("silence", 0.35)] * 8 + [("voice", 4.0), ("silence", 1.0)])
    got = segment(y, SR)
    assert all(4.0 <= s.duration <= 8.0 for s in got) and all(a.end == b.start for a, b in zip(got, got[1:]))
    assert got[0].start == pytest.approx(t[0][0], abs=0.1) and got[-1].end == pytest.approx(t[-1][1], abs=0.1)
    pauses = list(zip([e for _, e in t], [s for s, _ in t[1:]]))
    # While more than 2 * max_seconds remain, a cut is looked for within [max/2, max] of the
    # piece's start, a window that always holds a pause here; the last cut must leave two
    # pieces under max_seconds and may fall in speech.
    assert all(any(a - 0.05 <= s.end <= b + 0.05 for a, b in pauses) for s in got[:-2])


def test_fixed_and_none_modes() -> None:
    y = np.zeros(int(10.5 * SR), np.float32)
    assert segment(y, SR, SegmentParams.fixed(4)) == [Segment(0, 4), Segment(4, 8), Segment(8, 10.5)]
    assert segment(y[: int(8.5 * SR)], SR, parse_segmenting("fixed:4")) == [Segment(0, 4), Segment(4, 8.5)]
    assert segment(y[: SR], SR, SegmentParams.fixed(4)) == [Segment(0, 1)]
    assert segment(y, SR, parse_segmenting("none")) == [Segment(0, 10.5)]


def test_parse_segmenting() -> None:
    assert parse_segmenting("auto") == SegmentParams()
    assert parse_segmenting(" None ").mode is SegmentMode.NONE
    assert parse_segmenting("fixed:2.5") == SegmentParams.fixed(2.5)
    for bad in ("fixed:", "fixed:-1", "fixed:abc", "fixed:inf", "sometimes", ""):
        with pytest.raises(ConfigError, match=r"--segment must be auto, none or fixed:SECONDS") as e:
            parse_segmenting(bad)
        assert "\n" not in str(e.value)


def test_params_validate_and_fingerprint_only_what_the_mode_uses() -> None:
    with pytest.raises(ConfigError, match="at least twice min_seconds"):
        SegmentParams(min_seconds=2.0, max_seconds=3.0)
    with pytest.raises(ConfigError, match="pause_seconds must be a positive"):
        SegmentParams(pause_seconds=0)
    with pytest.raises(ConfigError, match="context_seconds must be 0 or more"):
        SegmentParams(context_seconds=-1)
    with pytest.raises(ConfigError, match="goes with the fixed mode"):
        SegmentParams(seconds=3.0)
    with pytest.raises(ConfigError, match="segment mode must be one of"):
        SegmentParams(mode="sometimes")  # type: ignore[arg-type]
    assert SegmentParams.whole().to_dict() == {"mode": "none"}
    assert SegmentParams.fixed(5).to_dict() == {"mode": "fixed", "seconds": 5, "min_seconds": 1.0}
    auto = SegmentParams().to_dict()
    assert auto["mode"] == "auto" and "seconds" not in auto and auto["max_seconds"] == 8.0 and auto["version"] == 1
    assert json.loads(json.dumps(auto)) == auto
    assert SegmentParams(mode="auto") == SegmentParams()  # type: ignore[arg-type]
