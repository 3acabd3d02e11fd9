"""Labelling long recordings segment by segment, with a tiny model trained here on the 'emo'
set: low voices are 'calm', high voices 'angry' (a known answer for every segment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from test_segment import SR, voice

from semo_batch import features
from semo_batch.config import get_config
from semo_batch.errors import ConfigError
from semo_batch.longform import (
    NO_SPEECH,
    featurize_recording,
    label_features,
    label_recording,
    segment_table,
    summary_table,
)
from semo_batch.models import EmotionClassifier
from semo_batch.models.normalize import group_keys
from semo_batch.segment import SegmentParams

EMO = get_config("emo")
F0 = {"calm": (100.0, 130.0), "angry": (260.0, 320.0)}


def _speaker(kind: str, seconds: float, seed: int, sr: int = SR) -> np.ndarray:
    return voice(seconds, sr, f0=F0[kind], seed=seed)


def _padded(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """As a segment comes out of a recording: half a second of quiet around the voice (its
    context), a faint noise."""
    z = np.zeros(int(0.5 * SR))
    y = np.concatenate([z, y, z])
    return (y + rng.standard_normal(len(y)) * 1e-3).astype(np.float32)


@pytest.fixture(scope="module")
def training() -> tuple[np.ndarray, list[str], list[int]]:
    """Features of 24 clips of each voice, in 4 groups (speakers, for normalization)."""
    rng = np.random.default_rng(0)
    X, y, groups = [], [], []
    for i in range(24):
        for kind in F0:
            X.append(features.extract(_padded(_speaker(kind, rng.uniform(1.0, 3.0), i), rng), EMO))
            y.append(kind)
            groups.append(i % 4)
    return np.array(X), y, groups


def _fit(training: tuple[np.ndarray, list[str], list[int]], normalize_by: str | None = None) -> EmotionClassifier:
    X, y, groups = training
    clf = EmotionClassifier("logreg", feature_config=EMO, feature_columns=features.names(EMO), normalize_by=normalize_by)
    return clf.fit(X, y, groups=groups if normalize_by else None)


@pytest.fixture(scope="module")
def clf(training: tuple[np.ndarray, list[str], list[int]]) -> EmotionClassifier:
    return _fit(training)


def _write(path: Path, kinds: list[str], seed: int = 0, sr: int = SR) -> list[tuple[float, float, str]]:
    """A recording of alternating speakers with pauses; returns (start, end, kind) of each stretch."""
    rng = np.random.default_rng(seed)
    parts, truth, t = [], [], 0.0
    for k, kind in enumerate(kinds):
        gap = np.zeros(int(rng.uniform(0.8, 1.5) * sr))
        y = _speaker(kind, float(rng.uniform(1.5, 4.0)), seed + k, sr)
        truth.append((t + len(gap) / sr, t + (len(gap) + len(y)) / sr, kind))
        parts += [gap, y]
        t += (len(gap) + len(y)) / sr
    parts.append(np.zeros(sr))
    rec = np.concatenate(parts)
    rec += rng.standard_normal(len(rec)) * 1e-3
    sf.write(path, np.stack([rec, rec], axis=1).astype(np.float32), sr)
    return truth


def test_every_segment_gets_its_speakers_label(tmp_path: Path, clf: EmotionClassifier) -> None:
    kinds = ["calm", "angry", "angry", "calm", "angry", "calm", "calm", "angry"]
    truth = _write(tmp_path / "talk.flac", kinds)
    r = label_recording(tmp_path / "talk.flac", clf)
    assert [(s.emotion, s.error) for s in r.segments] == [(k, "") for *_, k in truth]
    assert all(abs(s.start - a) < 0.1 and abs(s.end - b) < 0.1 for s, (a, b, _) in zip(r.segments, truth))
    assert all(s.confidence is not None and s.confidence > 0.5 for s in r.segments)
    assert all(np.isclose(s.probabilities.sum(), 1.0) for s in r.segments)
    calm = sum(b - a for a, b, k in truth if k == "calm") / sum(b - a for a, b, _ in truth)
    summary = r.summary
    assert summary.shares[r.labels.index("calm")] == pytest.approx(calm, abs=0.02)
    assert summary.dominant == ("calm" if calm > 0.5 else "angry")
    assert (summary.segments, summary.labelled, summary.error, summary.note) == (8, 8, "", "")
    assert summary.duration == pytest.approx(truth[-1][1] + 1.0, abs=0.01)
    assert summary.speech_seconds == pytest.approx(sum(b - a for a, b, _ in truth), abs=0.3)


def test_tables_sorted_by_path_then_start(tmp_path: Path, clf: EmotionClassifier) -> None:
    _write(tmp_path / "b.wav", ["calm", "angry"], seed=1)
    _write(tmp_path / "a.wav", ["angry", "calm", "angry"], seed=2)
    results = [label_recording(tmp_path / n, clf) for n in ("b.wav", "a.wav")]
    table = segment_table(results)
    assert table.columns == ["path", "start", "end", "emotion", "confidence", "p_angry", "p_calm", "error", "note"]
    assert table["path"].to_list() == [str(tmp_path / "a.wav")] * 3 + [str(tmp_path / "b.wav")] * 2
    assert table["emotion"].to_list() == ["angry", "calm", "angry", "calm", "angry"]
    assert table["start"].to_list() == sorted(table["start"].to_list()[:3]) + sorted(table["start"].to_list()[3:])
    summary = summary_table(results)
    assert summary.columns == ["path", "duration", "speech_seconds", "segments", "labelled", "share_angry",
                               "share_calm", "dominant", "error", "note"]
    assert summary["segments"].to_list() == [3, 2]


def test_a_recording_without_speech_says_so(tmp_path: Path, clf: EmotionClassifier) -> None:
    rng = np.random.default_rng(0)
    quiet = np.concatenate([rng.standard_normal(9 * SR) * 1e-3, rng.standard_normal(SR) * 0.05,
                            rng.standard_normal(10 * SR) * 1e-3])
    sf.write(tmp_path / "room.wav", quiet.astype(np.float32), SR)
    r = label_recording(tmp_path / "room.wav", clf)
    assert r.segments == () and r.summary.note == NO_SPEECH and r.summary.error == ""
    assert r.summary.dominant is None and r.summary.speech_seconds == 0.0 and r.summary.duration == 20.0
    row = segment_table([r]).row(0, named=True)
    assert (row["start"], row["end"], row["emotion"], row["error"], row["note"]) == (0.0, 20.0, None, "", NO_SPEECH)
    # A clip of a few seconds is labelled whole, as it always was, whatever the detector says.
    sf.write(tmp_path / "short.wav", quiet[: 8 * SR].astype(np.float32), SR)
    r = label_recording(tmp_path / "short.wav", clf)
    assert [(s.start, s.end) for s in r.segments] == [(0.0, 8.0)] and r.summary.note == ""


def test_a_truncated_recording_keeps_the_segments_before_the_damage(tmp_path: Path, clf: EmotionClassifier) -> None:
    truth = _write(tmp_path / "full.flac", ["calm", "angry"] * 4, seed=3, sr=44_100)
    cut = tmp_path / "cut.flac"
    cut.write_bytes((tmp_path / "full.flac").read_bytes()[: (tmp_path / "full.flac").stat().st_size // 2])
    r = label_recording(cut, clf)
    assert r.summary.error.startswith("cannot decode samples after")
    assert 2 <= len(r.segments) < len(truth)
    # what lies wholly before the damage is labelled as in the whole file
    whole = label_recording(tmp_path / "full.flac", clf)
    done = [s for s in r.segments if s.end < r.summary.duration - 0.5]
    assert [(s.start, s.end, s.emotion) for s in done] == [(s.start, s.end, s.emotion) for s in whole.segments[:len(done)]]
    last = segment_table([r]).row(-1, named=True)
    assert last["start"] == r.summary.duration and last["end"] is None and last["error"] == r.summary.error


def test_an_unreadable_file_is_a_row_not_an_exception(tmp_path: Path, clf: EmotionClassifier) -> None:
    rec = featurize_recording(tmp_path / "missing.wav", EMO)
    assert (rec.error, rec.segments, rec.features.shape) == ("no such file", (), (0, len(features.names(EMO))))
    r = label_recording(tmp_path / "missing.wav", clf)
    assert r.summary.error == "no such file" and r.summary.note == ""
    assert segment_table([r])["error"].to_list() == ["no such file"]


def test_fixed_and_whole_file_modes(tmp_path: Path, clf: EmotionClassifier) -> None:
    _write(tmp_path / "talk.wav", ["calm", "calm"], seed=4)
    whole = featurize_recording(tmp_path / "talk.wav", EMO, SegmentParams.whole())
    assert len(whole.segments) == 1 and whole.segments[0].start == 0.0
    assert whole.segments[0].end == pytest.approx(whole.duration)
    fixed = featurize_recording(tmp_path / "talk.wav", EMO, SegmentParams.fixed(2.0))
    assert [s.start for s in fixed.segments] == [2.0 * k for k in range(len(fixed.segments))]
    assert fixed.speech_seconds == pytest.approx(fixed.duration)


def test_normalize_by_file_groups_the_segments_of_each_recording(tmp_path: Path, training, clf) -> None:
    norm = _fit(training, "actor")
    _write(tmp_path / "one.wav", ["calm", "angry", "calm"], seed=5)
    _write(tmp_path / "two.wav", ["angry", "calm", "angry", "angry"], seed=6)
    recs = [featurize_recording(tmp_path / n, EMO) for n in ("one.wav", "two.wav")]
    got = label_features(recs, norm)  # a normalized model: each recording is one speaker
    X = np.concatenate([r.features for r in recs]).astype(np.float64)
    paths = [r.path for r in recs for _ in r.segments]
    expect = norm.predict_proba(X, groups=group_keys(paths, "file"))
    assert np.allclose(np.concatenate([[s.probabilities for s in r.segments] for r in got]), expect)
    assert [s.emotion for s in got[0].segments] == ["calm", "angry", "calm"]
    batch = label_features(recs, norm, normalize_by="batch")
    assert not np.allclose(np.concatenate([[s.probabilities for s in r.segments] for r in batch]), expect)
    assert group_keys(["/a/x.wav", "/a/y.wav", "/a/x.wav"], "file").tolist() == ["/a/x.wav", "/a/y.wav", "/a/x.wav"]
    with pytest.raises(ConfigError, match="trained without speaker normalization"):
        label_features(recs, clf, normalize_by="file")


def test_predict_writes_a_row_per_segment_a_summary_and_a_timeline(tmp_path: Path, clf: EmotionClassifier) -> None:
    """Through the CLI: a long recording and a short clip, with --summary and --plot."""
    import csv

    from typer.testing import CliRunner

    from semo_batch.cli import app
    from semo_batch.models import save_model

    kinds = ["calm", "angry", "angry", "calm", "angry", "calm"]
    (tmp_path / "in").mkdir()
    truth = _write(tmp_path / "in" / "talk.flac", kinds)
    rng = np.random.default_rng(9)
    sf.write(tmp_path / "in" / "clip.wav", _padded(_speaker("angry", 2.0, 99), rng), SR)
    save_model(clf, tmp_path / "model")
    out, summary, png = tmp_path / "p.csv", tmp_path / "s.csv", tmp_path / "p.png"
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "in"), "--model-dir", str(tmp_path / "model"), "-o",
                                   str(out), "--summary", str(summary), "--plot", str(png), "-q"])
    assert res.exit_code == 0, res.output
    assert f"2 files, 2 predicted ({len(kinds) + 1} segments), 0 failed -> {out}" in res.stdout
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:5] == ["path", "start", "end", "emotion", "confidence"]
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)  # by path, then start
    talk = [r for r in rows if r["path"].endswith("talk.flac")]
    assert [r["emotion"] for r in talk] == kinds
    for r, (start, end, _) in zip(talk, truth):
        assert abs(float(r["start"]) - start) < 0.1 and abs(float(r["end"]) - end) < 0.1
    (clip,) = [r for r in rows if r["path"].endswith("clip.wav")]
    assert (clip["start"], clip["emotion"]) == ("0.000000", "angry")  # a short clip: one whole-file row
    per_file = {r["path"].rsplit("/", 1)[-1]: r for r in csv.DictReader(summary.open())}
    assert per_file["talk.flac"]["segments"] == str(len(kinds)) and per_file["clip.wav"]["segments"] == "1"
    assert per_file["talk.flac"]["dominant"] in ("calm", "angry")
    shares = float(per_file["talk.flac"]["share_calm"]) + float(per_file["talk.flac"]["share_angry"])
    assert shares == pytest.approx(1.0)
    assert png.is_file() and (tmp_path / "p-timeline.png").is_file()


def test_segmenting_is_checked_before_any_work(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from semo_batch.cli import app

    (tmp_path / "in").mkdir()
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "in"), "--segment", "fixed:x", "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and res.stderr.startswith("semo-batch: error: ") and len(res.stderr.splitlines()) == 1
    assert not (tmp_path / "p.csv").exists()


def test_the_timeline_shades_each_segment_in_its_emotions_colour(tmp_path: Path, clf: EmotionClassifier) -> None:
    from matplotlib.colors import to_hex

    from semo_batch.plots.timeline import COLORS, envelope, timeline_figure

    kinds = ["calm", "angry", "calm"]
    _write(tmp_path / "talk.flac", kinds)
    r = label_recording(tmp_path / "talk.flac", clf)
    lo, hi, seconds = envelope(str(tmp_path / "talk.flac"), points=500)
    assert len(lo) == len(hi) <= 500 and seconds == pytest.approx(r.summary.duration, abs=0.01)
    assert hi.max() > 0.1 and lo.min() < -0.1  # the voices are there
    fig = timeline_figure([r])
    ax = fig.axes[0]
    spans = [p for p in ax.patches]
    assert [to_hex(p.get_facecolor()[:3]) for p in spans] == [COLORS[k] for k in kinds]
    assert ax.get_xlim() == pytest.approx((0.0, seconds))


def test_featurize_stores_a_row_per_segment_and_training_on_them_works(tmp_path: Path) -> None:
    """featurize --segment auto: a row per segment (start, end), a short clip one whole-file row
    with the numbers it has unsegmented; train on the rows; the model cuts recordings the same way."""
    import polars as pl

    from semo_batch.featurize import featurize
    from semo_batch.models import load_model
    from semo_batch.options import RunOptions
    from semo_batch.predict import predict_recordings
    from semo_batch.segment import segmented
    from semo_batch.store import FeatureStore
    from semo_batch.train import train

    data = tmp_path / "in"
    data.mkdir()
    lines = ["path,emotion,speaker"]
    for i in range(6):
        kind = ("calm", "angry")[i % 2]
        _write(data / f"talk{i}.flac", [kind] * 4, seed=10 + i)
        lines.append(f"{data / f'talk{i}.flac'},{kind},s{i % 3}")
    rng = np.random.default_rng(1)
    sf.write(data / "clip.wav", _padded(_speaker("angry", 2.0, 77), rng), SR)
    lines.append(f"{data / 'clip.wav'},angry,s0")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    store = tmp_path / "store"
    s = featurize([data], store, feature_set="emo", segment="auto", labels=tmp_path / "labels.csv",
                  options=RunOptions(jobs=1, max_duration=None))
    assert (s.found, s.done, s.failed) == (7, 7, 0)
    cut = segmented(EMO, SegmentParams())
    assert s.fingerprint == cut.fingerprint() != EMO.fingerprint()
    rows = FeatureStore(store).scan(cut).collect()
    talk = rows.filter(pl.col("path").str.ends_with("talk0.flac")).sort("start")
    assert talk.height == 4 and (talk["end"] > talk["start"]).all() and talk["emotion"].to_list() == ["calm"] * 4
    clip = rows.filter(pl.col("path").str.ends_with("clip.wav"))
    whole = featurize([data / "clip.wav"], tmp_path / "plain", feature_set="emo", options=RunOptions(jobs=1))
    assert whole.done == 1
    plain = FeatureStore(tmp_path / "plain").scan(EMO).collect()
    assert clip.height == 1 and clip["start"].item() == 0.0 and clip["end"].item() == pytest.approx(clip["duration"].item())
    assert clip.select(features.names(EMO)).equals(plain.select(features.names(EMO)))
    assert featurize([data], store, feature_set="emo", segment="auto", options=RunOptions(jobs=1)).skipped == 7
    # Train on the segments (the plain 'emo' name finds them), then predict a new recording.
    result = train(store, tmp_path / "model", model="logreg", feature_set="emo", split="none")
    clf = load_model(result.model_dir)
    assert clf.feature_config is not None and clf.feature_config.segment == cut.segment
    _write(tmp_path / "new.flac", ["angry", "calm", "angry"], seed=50)
    (r,) = predict_recordings([tmp_path / "new.flac"], result.model_dir)
    assert [seg.emotion for seg in r.segments] == ["angry", "calm", "angry"]


def test_free_memory_goes_back_after_each_segment_of_a_recording_but_not_for_a_clip(tmp_path, monkeypatch) -> None:
    import semo_batch.longform as longform
    from semo_batch.workers import release_free_memory

    release_free_memory()  # callable here whatever the C library
    calls: list[int] = []
    monkeypatch.setattr(longform, "release_free_memory", lambda: calls.append(1))
    _write(tmp_path / "talk.flac", ["calm", "angry", "calm", "angry"])
    rec = featurize_recording(tmp_path / "talk.flac", EMO)
    assert len(rec.segments) == 4 and len(calls) == 3
    calls.clear()
    rng = np.random.default_rng(3)
    sf.write(tmp_path / "clip.wav", _padded(_speaker("calm", 2.0, 5), rng), SR)
    assert len(featurize_recording(tmp_path / "clip.wav", EMO).segments) == 1 and calls == []


def test_the_library_predicts_recordings_of_any_length_by_default(tmp_path: Path, clf: EmotionClassifier,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No default refusal (featurize's whole-file rows keep their 600 s limit): the runs that
    predict makes when given no options have no duration limit."""
    import semo_batch.predict as predict

    seen = []
    real = predict.map_recordings
    monkeypatch.setattr(predict, "map_recordings", lambda files, config, params, options: seen.append(options)
                        or real(files, config, params, options))
    _write(tmp_path / "talk.flac", ["angry"])
    (r,) = predict.predict_recordings([tmp_path / "talk.flac"], clf)
    assert seen[0].max_duration is None and [s.emotion for s in r.segments] == ["angry"]
    predict.predict_to_csv([tmp_path / "talk.flac"], tmp_path / "p.csv", model_dir=_saved(clf, tmp_path))
    assert seen[1].max_duration is None


def _saved(clf: EmotionClassifier, tmp_path: Path) -> Path:
    from semo_batch.models import save_model

    return save_model(clf, tmp_path / "model")


def test_a_silent_recording_is_not_decoded_again_and_short_fixed_pieces_are_refused(tmp_path: Path) -> None:
    from semo_batch.featurize import featurize
    from semo_batch.options import RunOptions
    from semo_batch.segment import segmented
    from semo_batch.store import FeatureStore

    data = tmp_path / "in"
    data.mkdir()
    _write(data / "talk.flac", ["calm", "angry", "calm"])
    rng = np.random.default_rng(0)
    sf.write(data / "room.wav", (rng.standard_normal(20 * SR) * 1e-3).astype(np.float32), SR)
    one = RunOptions(jobs=1)
    s = featurize([data], tmp_path / "store", feature_set="emo", segment="auto", options=one)
    assert (s.done, s.failed, s.failures[0][1]) == (1, 1, NO_SPEECH)
    again = featurize([data], tmp_path / "store", feature_set="emo", segment="auto", options=one)
    assert (again.done, again.skipped, again.failed) == (0, 2, 0)
    (d,) = FeatureStore(tmp_path / "store").summary().datasets
    assert (d.files, d.labelled) == (1, 0)  # one recording stored (3 segments), none labelled
    with pytest.raises(ConfigError, match="pieces must be at least 0.1 s long"):
        segmented(EMO, SegmentParams.fixed(0.05))
