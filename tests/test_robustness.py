"""The robustness suite on a model of synthetic voices: held-out files through each channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import harmonic_tone

from semo_batch.errors import ConfigError
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.robustness import evaluate_channels
from semo_batch.train import train

SR = 16_000
#: Emotion code -> pitch of its "voice" (RAVDESS codes: 01 neutral, 03 happy, 05 angry).
PITCH = {1: 120.0, 3: 220.0, 5: 400.0}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("robust")
    rng = np.random.default_rng(0)
    for actor in range(1, 6):
        for code, f0 in PITCH.items():
            for rep in (1, 2):
                y = 0.4 * harmonic_tone(f0 * rng.uniform(0.95, 1.05), sr=SR, duration=0.6)
                y = np.concatenate([np.zeros(1600), y, np.zeros(1600)])
                folder = base / "corpus" / f"Actor_{actor:02d}"
                folder.mkdir(parents=True, exist_ok=True)
                sf.write(folder / f"03-01-{code:02d}-01-01-{rep:02d}-{actor:02d}.wav", y, SR, subtype="PCM_16")
    featurize([base / "corpus"], base / "store", feature_set="emo")
    train(base / "store", base / "model", model="logreg", split="actor", seed=1, test_size=0.2)
    return base / "model"


def test_held_out_files_through_each_channel(model: Path) -> None:
    r = evaluate_channels(model, channels=["gain-20dB", "white-10dB"], options=RunOptions(jobs=1))
    assert r.files == 6  # one actor of five: 3 emotions x 2 repetitions
    assert [c.channel for c in r.conditions] == ["clean", "gain-20dB", "white-10dB"]
    assert r.clean.scores.accuracy == 1.0 and r.clean.scores.n == 6
    assert list(r.clean.by_corpus) == ["ravdess"]
    table = r.markdown()
    assert table.count("\n") == 2 + 3 and "| clean (as recorded) | 1.000 |" in table
    assert all(c.scores.n == 6 for c in r.conditions)


def test_the_same_noise_for_the_same_file(model: Path) -> None:
    a = evaluate_channels(model, channels=["white-10dB"], options=RunOptions(jobs=1))
    b = evaluate_channels(model, channels=["white-10dB"], options=RunOptions(jobs=2))
    assert a.conditions[1].scores == b.conditions[1].scores


def test_unknown_channel_and_models_without_held_out_files(model: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown channels"):
        evaluate_channels(model, channels=["underwater"])
    store = model.parent / "store"
    train(store, tmp_path / "all", model="logreg", split="none")
    with pytest.raises(ConfigError, match="held no files out"):
        evaluate_channels(tmp_path / "all")
