"""Figures: panels, axis labels and units, values that match the features, valid PNGs."""

from __future__ import annotations

import dataclasses
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from conftest import harmonic_tone

from semo_batch import plots
from semo_batch.config import get_config
from semo_batch.errors import AudioError, ConfigError
from semo_batch.features.emo import emo_descriptors
from semo_batch.features.seed import seed_features, zero_crossings
from semo_batch.naming import EMOTIONS
from semo_batch.plots.inspect_panel import STFT_RANGE_DB

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: An angry, strong-intensity take by actress 12.
REAL_NAME = "03-01-05-02-01-01-12"


def real_file(ravdess_dir: Path) -> Path:
    (path,) = (ravdess_dir / "Actor_12").glob(f"{REAL_NAME}.*")
    return path


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def panels(fig) -> dict:
    return {ax.get_label(): ax for ax in fig.axes if ax.get_label()}


def colorbar_label(ax) -> str:
    (cbar,) = [c for c in ax.child_axes if c.get_label() == "colorbar"]
    return cbar.get_ylabel()


def tone(freq: float, sr: int, seconds: float, *, harmonics: int = 1, amp: float = 0.3) -> np.ndarray:
    """A (harmonic) tone as float32, the type :func:`semo_batch.audio.load` returns."""
    return harmonic_tone(freq, sr=sr, duration=seconds, n_harmonics=harmonics, amp=amp).astype(np.float32)


@pytest.fixture(scope="module")
def emo_tone_figure():
    config = get_config("emo")
    y = tone(220.0, config.sample_rate, 1.0, harmonics=6)
    return plots.inspect_signal(y, config, title="a 220 Hz tone"), y, config


# -- import discipline ---------------------------------------------------------------------
def test_importing_plots_and_report_does_not_load_matplotlib():
    code = "import sys, semo_batch.plots, semo_batch.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- inspection figure -----------------------------------------------------------------------
def test_inspect_signal_has_every_panel_with_axes_in_seconds_and_hz(emo_tone_figure):
    fig, _, _ = emo_tone_figure
    p = panels(fig)
    assert set(plots.INSPECT_PANELS) <= set(p)
    for name in plots.INSPECT_PANELS:
        assert p[name].get_xlabel() == "time (s)", name
    for name in ("stft_magnitude", "stft_db"):
        assert p[name].get_ylabel() == "frequency (Hz)"
    assert p["mel"].get_ylabel() == "frequency (Hz, mel scale)"
    assert p["f0"].get_ylabel() == "F0 (Hz)"
    assert p["centroid_rolloff"].get_ylabel() == "frequency (Hz)"
    assert colorbar_label(p["stft_magnitude"]) == "dB re loudest bin of the file"
    assert colorbar_label(p["stft_db"]) == "dB re loudest bin of the frame"
    assert colorbar_label(p["mel"]) == "dB (10 log10 power)"
    assert colorbar_label(p["mfcc"]) == "coefficient (dB)"
    assert colorbar_label(p["chroma"]) == "energy re loudest bin of the frame"
    assert fig.get_suptitle() == "a 220 Hz tone"


@pytest.mark.parametrize("panel", ["stft_magnitude", "stft_db"])
def test_stft_panel_puts_a_tone_at_its_frequency_on_a_linear_hz_axis(panel):
    config = get_config("emo")
    y = tone(1000.0, config.sample_rate, 0.5)
    ax = panels(plots.inspect_signal(y, config))[panel]
    image = ax.images[0]
    data = np.ma.filled(image.get_array().astype(float), np.nan)  # (bins, frames), origin lower
    _, right, bottom, top = image.get_extent()
    row = int(np.argmax(np.nanmean(data, axis=1)))
    freq = bottom + (row + 0.5) * (top - bottom) / data.shape[0]
    assert freq == pytest.approx(1000.0, abs=config.sample_rate / config.n_fft)
    assert top == pytest.approx(config.sample_rate / 2, abs=config.sample_rate / config.n_fft)
    assert right == pytest.approx(0.5, abs=2 * config.hop_length / config.sample_rate)


def _test_signal(sr: int) -> np.ndarray:
    """A 180 Hz harmonic tone with 40 harmonics between 0.25 s silences, in noise 43 dB down."""
    y = harmonic_tone(180.0, sr=sr, duration=1.0, n_harmonics=40, amp=0.3)
    gap = np.zeros(sr // 4)
    y = np.concatenate([gap, y, gap]) + 0.002 * np.random.default_rng(0).standard_normal(y.size + 2 * gap.size)
    return y.astype(np.float32)


def test_stft_panel_is_readable_not_black():
    # The colours the image gets, 0..1: a linear magnitude scale left 91 % of this image in the
    # bottom 5 % of its colours (99 % for the real file below), and its 90th percentile at 0.04.
    config = get_config("emo")
    image = panels(plots.inspect_signal(_test_signal(config.sample_rate), config))["stft_magnitude"].images[0]
    colours = np.asarray(image.norm(image.get_array()))
    assert np.mean(colours < 0.05) < 0.5
    assert np.percentile(colours, 90) > 0.5
    assert (image.norm.vmin, image.norm.vmax) == (-STFT_RANGE_DB, 0.0)
    assert float(np.min(image.get_array())) == -STFT_RANGE_DB  # clipped, not stretched


def test_f0_panel_tracks_the_tone(emo_tone_figure):
    fig, _, _ = emo_tone_figure
    _, f0 = panels(fig)["f0"].lines[0].get_data()
    f0 = np.asarray(f0, dtype=float)
    assert np.isfinite(f0).mean() > 0.8
    assert np.nanmedian(f0) == pytest.approx(220.0, rel=0.02)


def test_zoom_shows_200_samples_and_their_zero_crossings(emo_tone_figure):
    fig, y, config = emo_tone_figure
    ax = panels(fig)["zoom"]
    ts, seg = ax.lines[0].get_data()
    assert len(seg) == plots.ZOOM_SAMPLES
    start = round(float(ts[0]) * config.sample_rate)
    np.testing.assert_array_equal(seg, y[start : start + plots.ZOOM_SAMPLES])
    count = int(re.search(r"(\d+) zero crossings", ax.get_title()).group(1))
    assert count == zero_crossings(np.asarray(seg))
    assert f"whole file: {zero_crossings(y):,}" in ax.get_title()


def test_centroid_and_rolloff_are_in_hz_on_their_own_axis(emo_tone_figure):
    fig, y, config = emo_tone_figure
    ax = panels(fig)["centroid_rolloff"]
    assert not [a for a in fig.axes if a is not ax and a.bbox.bounds == ax.bbox.bounds]  # no twin axis
    assert ax.get_ylabel() == "frequency (Hz)"
    assert ax.get_ylim() == pytest.approx((0.0, config.sample_rate / 2))
    d = emo_descriptors(y, config)
    centroid, rolloff = (np.asarray(line.get_ydata(), dtype=float) for line in ax.lines)
    active = d["active"]
    np.testing.assert_allclose(centroid[active], d["centroid"][active], rtol=1e-6)
    np.testing.assert_allclose(rolloff[active], d["rolloff"][active], rtol=1e-6)
    assert np.all(np.isnan(centroid[~active]))
    for line in ax.lines:
        assert re.search(r"\(median \d+ Hz\)", line.get_label())


def test_centroid_of_a_1_khz_tone_is_drawn_at_1000_hz():
    config = get_config("emo")
    ax = panels(plots.inspect_signal(tone(1000.0, config.sample_rate, 0.5), config))["centroid_rolloff"]
    centroid, rolloff = (np.asarray(line.get_ydata(), dtype=float) for line in ax.lines)
    assert np.nanmedian(centroid) == pytest.approx(1000.0, rel=0.03)
    assert np.nanmedian(rolloff) == pytest.approx(1000.0, abs=2 * config.sample_rate / config.n_fft)


@pytest.mark.parametrize("version", [3, 4])
def test_f0_panel_of_a_glide_has_no_octave_jumps(version):
    # A pulse train gliding 250 -> 120 Hz without its fundamental: the first tracker (emo
    # version 3) put 19 % of its frames an octave down.  The panel uses the path tracker
    # whatever the set's version.
    config = dataclasses.replace(get_config("emo"), version=version)
    sr = config.sample_rate
    t = np.arange(2 * sr) / sr
    f0 = 250 * (120 / 250) ** (t / 2)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) * (k * f0 < sr / 2 - 200) for k in range(2, 60))
    y = (0.3 * y / np.max(np.abs(y)) + 0.003 * np.random.default_rng(1).standard_normal(t.size)).astype(np.float32)
    times, track = (np.asarray(v, dtype=float) for v in panels(plots.inspect_signal(y, config))["f0"].lines[0].get_data())
    ok = np.isfinite(track)
    assert ok.mean() > 0.9
    truth = np.interp(times[ok], t, f0)
    assert np.max(np.abs(np.log2(track[ok] / truth))) < 0.05
    steps = np.abs(np.diff(np.log2(track)))
    assert np.nanmax(steps) < 0.05


def test_seed_panels_show_what_the_seed_features_average():
    config = get_config("seed")
    y = tone(440.0, config.sample_rate, 0.4, harmonics=4) + np.random.default_rng(0).normal(
        0, 0.01, int(0.4 * config.sample_rate)
    ).astype(np.float32)
    fig = plots.inspect_signal(y, config)
    p = panels(fig)
    assert "f0" not in p  # the seed window (= n_fft) leaves no lags for pitch
    feats = seed_features(y, config)
    n_mel, n_chroma, n_mfcc = config.n_mels, config.n_chroma, config.n_mfcc
    mel_db = np.asarray(p["mel"].images[0].get_array(), dtype=np.float64)
    np.testing.assert_allclose((10 ** (mel_db / 10)).mean(axis=1), feats[:n_mel], rtol=1e-3, atol=1e-9)
    chroma = np.asarray(p["chroma"].images[0].get_array(), dtype=np.float64)
    np.testing.assert_allclose(chroma.mean(axis=1), feats[n_mel : n_mel + n_chroma], rtol=1e-4, atol=1e-6)
    mfcc = np.asarray(p["mfcc"].images[0].get_array(), dtype=np.float64)
    np.testing.assert_allclose(mfcc.mean(axis=1), feats[n_mel + n_chroma : n_mel + n_chroma + n_mfcc],
                               rtol=1e-3, atol=1e-2)
    assert "tuning" in p["chroma"].get_title()


def test_inspect_file_titles_the_parsed_ravdess_fields(tmp_path):
    path = tmp_path / "03-01-05-02-01-01-12.wav"
    sf.write(path, tone(200.0, 22_050, 0.6, harmonics=5), 22_050)
    fig = plots.inspect_figure(path)
    title = fig.get_suptitle()
    assert title.startswith("03-01-05-02-01-01-12.wav")
    assert "emotion angry" in title and "intensity strong" in title and "actor 12 (female)" in title
    assert "22050 Hz" in title and "16000 Hz" in title


def test_inspect_file_writes_a_small_valid_png_even_for_a_name_with_math_signs(tmp_path):
    path = tmp_path / r"price $\notacommand{ and $6_x^2.wav"  # mathtext would fail to parse this
    sf.write(path, tone(300.0, 16_000, 0.5), 16_000)
    out = plots.inspect_file(path, tmp_path / "out" / "inspect.png")
    data = out.read_bytes()
    width, _ = png_size(data)
    assert width == 13 * plots.DPI
    assert 10_000 < len(data) < 400_000


def test_silence_and_very_short_signals_draw_without_an_f0_panel():
    config = get_config("emo")
    for y in (np.zeros(config.sample_rate // 10, np.float32), np.zeros(150, np.float32)):
        p = panels(plots.inspect_signal(y, config))
        assert "f0" not in p and set(plots.INSPECT_PANELS[:-1]) <= set(p)
        assert len(p["zoom"].lines[0].get_xdata()) == min(plots.ZOOM_SAMPLES, y.size)


def test_inspect_file_refuses_what_featurize_refuses(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError, match="empty file"):
        plots.inspect_file(tmp_path / "empty.wav", tmp_path / "x.png")
    with pytest.raises(ConfigError, match="feature set"):
        plots.inspect_figure(tmp_path / "empty.wav", feature_set="mfcc-only")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.ravdess
@pytest.mark.parametrize("feature_set", ["emo", "seed"])
def test_inspect_file_on_a_real_recording(tmp_path, feature_set, ravdess_dir):
    path = real_file(ravdess_dir)
    fig = plots.inspect_figure(path, feature_set=feature_set)
    assert "emotion angry" in fig.get_suptitle()
    assert ("f0" in panels(fig)) == (feature_set == "emo")
    image = panels(fig)["stft_magnitude"].images[0]
    colours = np.asarray(image.norm(image.get_array()))
    assert np.mean(colours < 0.05) < 0.9 and np.percentile(colours, 90) > 0.2  # linear scale: 0.99, 0.004
    out = plots.save_png(fig, tmp_path / "inspect.png")
    width, height = png_size(out.read_bytes())
    assert width == 13 * plots.DPI and height > 700
    assert out.stat().st_size < 400_000


# -- training and evaluation -------------------------------------------------------------------
def test_training_curves_show_both_splits_and_mark_the_best_epoch(tmp_path):
    history = {
        "accuracy": [0.2, 0.4, 0.6, 0.7],
        "val_accuracy": [0.2, 0.5, 0.45, 0.4],
        "loss": [2.0, 1.5, 1.0, 0.8],
        "val_loss": [2.1, 1.4, 1.6, 1.9],
        "learning_rate": [1e-3] * 4,
    }
    fig = plots.training_curves_figure(history)
    p = panels(fig)
    assert set(p) == {"accuracy", "loss"}
    acc = p["accuracy"]
    assert acc.get_xlabel() == "epoch" and acc.get_ylabel() == "accuracy"
    labels = [line.get_label() for line in acc.lines]
    assert labels[:2] == ["training", "validation"]
    np.testing.assert_array_equal(acc.lines[0].get_xdata(), [1, 2, 3, 4])
    assert "0.500 at epoch 2" in labels[2]
    assert "1.400 at epoch 2" in p["loss"].lines[2].get_label()
    width, _ = png_size(plots.plot_training_curves(history, tmp_path / "curves.png").read_bytes())
    assert width == int(11 * plots.DPI)


def test_training_curves_with_loss_only_and_with_nothing():
    assert set(panels(plots.training_curves_figure({"loss": [1.0, 0.5]}))) == {"loss"}
    with pytest.raises(ValueError, match="Got keys"):
        plots.training_curves_figure({"lr": [0.1]})


def test_confusion_matrix_cells_give_counts_and_row_percentages(tmp_path):
    cm = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    fig = plots.confusion_matrix_figure(cm, ["angry", "<b>sad</b>", "calm"])
    ax = panels(fig)["confusion"]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells[(0, 0)] == "8\n80%" and cells[(0, 1)] == "2\n20%"
    assert cells[(1, 0)] == "1\n25%" and cells[(1, 1)] == "3\n75%"
    assert cells[(2, 2)] == "0\n-"  # a class with no files has no percentages
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["angry", "<b>sad</b>", "calm"]
    assert "14 files, accuracy 78.6%" in ax.get_title()
    row_share = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(row_share[:2].sum(axis=1), 1.0)
    png_size(plots.plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "cm.png").read_bytes())


@pytest.mark.parametrize(
    ("cm", "labels", "message"),
    [
        ([[1, 2, 3]], ["a"], "square"),
        ([[1, 2], [3, 4]], ["a"], "expected 2 labels"),
        ([[1, -2], [3, 4]], ["a", "b"], "counts"),
    ],
)
def test_confusion_matrix_refuses_bad_input(cm, labels, message):
    with pytest.raises(ValueError, match=message):
        plots.confusion_matrix_figure(cm, labels)


def test_per_class_bars_skip_the_summary_rows_and_draw_the_uar(tmp_path):
    report = {
        e: {"precision": 0.1 * i, "recall": 0.05 * i, "f1-score": 0.07 * i, "support": 10 + i}
        for i, e in enumerate(EMOTIONS[:4], start=1)
    }
    report |= {"accuracy": 0.5, "macro avg": {"precision": 0.4, "recall": 0.125, "f1-score": 0.3, "support": 50}}
    ax = panels(plots.per_class_figure(report))["per_class"]
    assert len(ax.patches) == 4 * 3
    heights = [b.get_height() for b in ax.patches]
    np.testing.assert_allclose(heights[:4], [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(heights[4:8], [0.05, 0.1, 0.15, 0.2])
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "neutral\n(n=11)" and len(ticks) == 4
    assert any("UAR" in line.get_label() and line.get_ydata()[0] == 0.125 for line in ax.lines)
    png_size(plots.plot_per_class(report, tmp_path / "per_class.png").read_bytes())


def test_per_class_accepts_f1_without_suffix_and_refuses_an_empty_report():
    ax = panels(plots.per_class_figure({"a": {"precision": 1.0, "recall": 0.5, "f1": 0.67}}))["per_class"]
    assert len(ax.patches) == 3
    with pytest.raises(ValueError, match="precision"):
        plots.per_class_figure({"accuracy": 0.3})


def test_predictions_figure_counts_labels_and_bins_confidence(tmp_path):
    df = pl.DataFrame(
        {
            "path": [f"f{i}.wav" for i in range(7)],
            "emotion": ["sad", "angry", "sad", "zzz", "angry", "sad", "neutral"],
            "confidence": [0.9, 0.5, 0.55, 0.3, 0.99, 0.7, 0.61],
        }
    )
    p = panels(plots.predictions_figure(df))
    bars = p["labels"]
    assert [t.get_text() for t in bars.get_xticklabels()] == ["neutral", "sad", "angry", "zzz"]
    assert [b.get_height() for b in bars.patches] == [1, 3, 2, 1]
    hist = p["confidence"]
    assert sum(b.get_height() for b in hist.patches) == 7
    assert hist.get_xlabel() == "confidence (probability, 0-1)"
    png_size(plots.plot_predictions(df, tmp_path / "pred.png").read_bytes())
    with pytest.raises(ValueError, match="'confidence'"):
        plots.predictions_figure(df.drop("confidence"))


def test_dataset_overview_counts_unknown_fields():
    df = pl.DataFrame(
        {
            "emotion": ["sad", "sad", None],
            "intensity": ["normal", "strong", None],
            "actor": [1, 12, None],
            "duration": [1.0, 2.0, 3.0],
            "sample_rate": [48000, 48000, 16000],
        }
    )
    p = panels(plots.dataset_overview_figure(df))
    assert set(p) == {"emotion", "intensity", "actor", "duration", "sample_rate"}
    assert [t.get_text() for t in p["actor"].get_xticklabels()] == ["1", "12", "unknown"]
    assert [b.get_height() for b in p["sample_rate"].patches] == [1, 2]
    assert p["duration"].get_xlabel() == "duration (s)"
