"""Streaming decode and streaming segmentation: the same answers as the whole-signal path,
in bounded memory, and the good part of a damaged file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_segment import SR, recording

from semo_batch.audio import load
from semo_batch.errors import AudioError
from semo_batch.segment import Segment, SegmentParams, audio_slice, segment
from semo_batch.stream import AudioStream, StreamSegmenter


def _long_spec(seed: int, n: int = 40) -> list[tuple[str, float]]:
    rng = np.random.default_rng(seed)
    spec: list[tuple[str, float]] = [("silence", 0.5)]
    for i in range(n):
        kind = "noise" if i % 4 == 3 else "voice"
        spec += [(kind, float(rng.uniform(0.3, 25.0 if i % 9 == 4 else 5.0))), ("silence", float(rng.uniform(0.2, 1.6)))]
    return spec


def _stream(y: np.ndarray, sizes, params: SegmentParams | None = None, sr: int = SR):
    seg, out, held, i = StreamSegmenter(sr, params), [], 0.0, 0
    for size in sizes:
        if i >= len(y):
            break
        out += seg.push(y[i:i + size])
        held = max(held, seg.buffered_seconds)
        i += size
    if i < len(y):
        out += seg.push(y[i:])
    return out + seg.finish(), held


@pytest.fixture(scope="module")
def long_signal() -> np.ndarray:
    y, _ = recording(_long_spec(5), seed=5)
    return y


@pytest.mark.parametrize("sizes", ["one", "tiny", "random"])
def test_streaming_gives_the_segments_of_the_whole_signal(long_signal: np.ndarray, sizes: str) -> None:
    y = long_signal
    blocks = {"one": [len(y)], "tiny": [777] * (len(y) // 777 + 1),
              "random": np.random.default_rng(0).integers(1, 60_000, size=len(y) // 1000).tolist()}[sizes]
    pairs, _ = _stream(y, blocks)
    assert [s for s, _ in pairs] == segment(y, SR)
    for s, samples in pairs:
        assert np.array_equal(samples, y[audio_slice(s, SR, len(y), SegmentParams())])


def test_streaming_memory_is_bounded(long_signal: np.ndarray) -> None:
    y = np.concatenate([long_signal] * 3)  # about 7 minutes
    pairs, held = _stream(y, [SR] * (len(y) // SR + 1))
    assert len(pairs) > 60
    # floor look-ahead (10 s) + an utterance cut at 2 * max_seconds + the merge look-ahead, not the file
    assert held < 40.0 < len(y) / SR / 10


@pytest.mark.parametrize("params", [SegmentParams.fixed(3.0), SegmentParams.whole()])
def test_fixed_and_whole_modes_stream_too(long_signal: np.ndarray, params: SegmentParams) -> None:
    y = long_signal[: int(31.5 * SR)]
    pairs, _ = _stream(y, [5000] * 120, params)
    assert [s for s, _ in pairs] == segment(y, SR, params)
    assert np.array_equal(np.concatenate([x for _, x in pairs]), y)


def test_a_short_file_streams_to_one_segment() -> None:
    y, t = recording([("silence", 0.9), ("voice", 0.8), ("silence", 0.6), ("voice", 0.7), ("silence", 0.5)])
    pairs, _ = _stream(y, [1000] * 60)
    assert [s for s, _ in pairs] == [Segment(0.0, 3.5)] and np.array_equal(pairs[0][1], y)


def test_stream_decodes_stereo_44k_like_load(tmp_path: Path) -> None:
    y, _ = recording([("silence", 0.5), ("voice", 3.0), ("silence", 0.5)] * 3, 44_100, seed=1)
    path = tmp_path / "stereo.flac"
    sf.write(path, np.stack([y, 0.5 * y], axis=1), 44_100)
    with AudioStream(path, sr=SR) as stream:
        got = np.concatenate(list(stream))
        assert stream.info.channels == 2 and stream.seconds_read == pytest.approx(len(y) / 44_100)
    whole, _ = load(path, sr=SR)
    assert abs(len(got) - len(whole)) <= 1
    n = min(len(got), len(whole))
    assert np.max(np.abs(got[:n] - whole[:n])) < 1e-3


def test_stream_without_resampling_is_exact(tmp_path: Path) -> None:
    y, _ = recording([("voice", 5.0)], seed=2)
    path = tmp_path / "mono.wav"
    sf.write(path, y, SR, subtype="PCM_16")
    with AudioStream(path, sr=SR) as stream:
        got = list(stream)
    assert len(got) == 3  # 2 s blocks
    assert np.array_equal(np.concatenate(got), load(path, sr=SR)[0])


def test_stream_segments_a_44k_stereo_file_at_the_true_boundaries(tmp_path: Path) -> None:
    y, truth = recording([("silence", 1.0), ("voice", 2.0), ("silence", 1.2), ("noise", 0.7), ("silence", 1.1),
                          ("voice", 4.0), ("silence", 2.0), ("voice", 1.5), ("silence", 1.0)], 44_100, seed=4)
    path = tmp_path / "long.wav"
    sf.write(path, np.stack([y, y], axis=1), 44_100, subtype="FLOAT")
    seg, pairs = StreamSegmenter(SR), []
    with AudioStream(path, sr=SR) as stream:
        for block in stream:
            pairs += seg.push(block)
    got = [s for s, _ in pairs + seg.finish()]
    assert len(got) == len(truth)
    assert all(abs(s.start - a) <= 0.1 and abs(s.end - b) <= 0.1 for s, (a, b) in zip(got, truth))


def test_a_truncated_file_gives_its_good_blocks_then_the_error(tmp_path: Path) -> None:
    y, _ = recording([("voice", 3.0), ("silence", 1.0)] * 5, 44_100, seed=3)
    full = tmp_path / "full.flac"
    sf.write(full, np.stack([y, y], axis=1), 44_100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    blocks = []
    with AudioStream(cut, sr=SR) as stream:
        with pytest.raises(AudioError, match=r"cannot decode samples after \d+\.\d s") as e:
            for block in stream:
                blocks.append(block)
        assert 4.0 <= stream.seconds_read < 20.0
    assert e.value.path == str(cut)
    got = np.concatenate(blocks)
    assert len(got) == pytest.approx(stream.seconds_read * SR, abs=2)
    whole, _ = load(full, sr=SR)
    assert np.max(np.abs(got[: len(got) - SR] - whole[: len(got) - SR])) < 1e-3


def test_non_finite_samples_stop_the_stream_after_the_good_part(tmp_path: Path) -> None:
    y = np.zeros(10 * SR, np.float32)
    y[7 * SR] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, y, SR, subtype="FLOAT")
    with AudioStream(path, sr=SR) as stream:
        blocks = []
        with pytest.raises(AudioError, match="NaN or infinite sample values after 6.0 s"):
            for block in stream:
                blocks.append(block)
    assert sum(map(len, blocks)) == 6 * SR


def test_bad_files_are_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such file"):
        AudioStream(tmp_path / "missing.wav", sr=SR)
    with pytest.raises(AudioError, match="is a directory"):
        AudioStream(tmp_path, sr=SR)
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty file"):
        AudioStream(tmp_path / "empty.wav", sr=SR)
    (tmp_path / "text.wav").write_text("not audio at all " * 20)
    with pytest.raises(AudioError, match="not a decodable audio file"):
        AudioStream(tmp_path / "text.wav", sr=SR)
    sf.write(tmp_path / "long.wav", np.zeros(5 * SR, np.float32), SR)
    with pytest.raises(AudioError, match="over the 4 s limit"):
        AudioStream(tmp_path / "long.wav", sr=SR, max_duration=4.0)
    header_only = tmp_path / "header.wav"
    sf.write(header_only, np.zeros(0, np.float32), SR)
    with AudioStream(header_only, sr=SR) as stream, pytest.raises(AudioError, match="no audio samples"):
        list(stream)
