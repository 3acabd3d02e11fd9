from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from conftest import CORPUS, CORPUS_BAD, make_corpus

from semo_batch.choices import Backend
from semo_batch.config import get_config
from semo_batch.errors import AudioError, ConfigError
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.forkpool import FORK_AVAILABLE
from semo_batch.options import RunOptions
from semo_batch.store import META_COLUMNS, FeatureStore

EMO = get_config("emo")
SEED = get_config("seed")
N_GOOD = len(CORPUS)
N_FOUND = N_GOOD + len(CORPUS_BAD)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same corpus featurized with jobs=1 and jobs=2, both feature sets. Tests must not modify it."""
    base = tmp_path_factory.mktemp("runs")
    corpus = make_corpus(base / "corpus")
    out = {}
    for jobs in (1, 2):
        for fset in ("emo", "seed"):
            store = base / f"store{jobs}"
            out[jobs, fset] = featurize([corpus], store, feature_set=fset, options=RunOptions(jobs=jobs))
    # jobs=2 above runs on the local default (fork on Linux); the other local backend too.
    for fset in ("emo", "seed"):
        out["loky", fset] = featurize([corpus], base / "store-loky", feature_set=fset,
                                      options=RunOptions(jobs=2, backend=Backend.LOKY))
    return corpus, base, out


def _features(store, config) -> pl.DataFrame:
    return FeatureStore(store).scan(config).collect()


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("fset", ["emo", "seed"])
def test_summary_counts(runs, jobs, fset):
    corpus, base, out = runs
    s = out[jobs, fset]
    assert (s.found, s.done, s.skipped, s.failed, s.interrupted) == (N_FOUND, N_GOOD, 0, 1, False)
    assert s.failures[0][0] == str(corpus / CORPUS_BAD[0])
    assert "not a decodable audio file" in s.failures[0][1]
    assert s.feature_set == fset and s.fingerprint == get_config(fset).fingerprint()
    assert s.store == str(base / f"store{jobs}")
    assert f"{N_FOUND} files found: {N_GOOD} featurized, 0 skipped" in s.lines()[0]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("config", [EMO, SEED], ids=["emo", "seed"])
def test_rows_and_columns(runs, jobs, config):
    corpus, base, _ = runs
    df = _features(base / f"store{jobs}", config)
    assert df.height == N_GOOD
    assert df.columns == [*META_COLUMNS, *names(config)]
    assert df["relpath"].to_list() == sorted(CORPUS)
    feats = df.select(names(config))
    assert set(feats.schema.values()) == {pl.Float32}
    assert np.isfinite(feats.to_numpy()).all()
    ravdess = df.filter(pl.col("emotion").is_not_null())
    assert sorted(zip(ravdess["emotion"], ravdess["actor"], ravdess["sex"], strict=True)) == [
        ("angry", 12, "female"),
        ("neutral", 1, "male"),
        ("surprised", 23, "male"),
    ]


def _blas_threads() -> int:
    from threadpoolctl import threadpool_info

    return max((p["num_threads"] for p in threadpool_info()), default=1)


def test_jobs_1_and_2_give_the_same_rows(runs):
    _, base, _ = runs
    for config in (EMO, SEED):
        a = _features(base / "store1", config).drop("written_at")
        b = _features(base / "store2", config).drop("written_at")
        assert a.drop(names(config)).equals(b.drop(names(config)))
        np.testing.assert_allclose(
            a.select(names(config)).to_numpy(), b.select(names(config)).to_numpy(), rtol=1e-6, atol=1e-6
        )


def test_jobs_1_and_2_give_bit_identical_rows(runs):
    _, base, _ = runs
    for config in (EMO, SEED):
        a = _features(base / "store1", config).drop("written_at")
        b = _features(base / "store2", config).drop("written_at")
        assert a.equals(b)


def test_both_local_backends_give_bit_identical_rows(runs):
    _, base, out = runs
    assert RunOptions().backend is (Backend.FORK if FORK_AVAILABLE else Backend.LOKY)
    for config in (EMO, SEED):
        assert (out["loky", config.name].done, out["loky", config.name].failed) == (N_GOOD, 1)
        a = _features(base / "store2", config).drop("written_at")
        b = _features(base / "store-loky", config).drop("written_at")
        assert a.equals(b)


def test_seed_zero_crossings_of_the_noise_file(runs):
    # White noise at 8 kHz, resampled to 48 kHz: about one crossing per two input samples.
    _, base, _ = runs
    df = _features(base / "store1", SEED)
    zc = df.filter(pl.col("relpath") == "noise.wav")["zero_crossings"][0]
    assert 0.3 * 0.4 * 8000 < zc < 0.7 * 0.4 * 8000


def test_two_feature_sets_live_side_by_side(runs):
    _, base, _ = runs
    dirs = sorted(p.name for p in (base / "store1" / "features").iterdir())
    assert dirs == sorted([f"emo-{EMO.fingerprint()}", f"seed-{SEED.fingerprint()}"])
    assert [d["feature_set"] for d in FeatureStore(base / "store1").datasets()] == ["emo", "seed"]


@pytest.fixture
def fresh(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    store = tmp_path / "store"
    first = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert first.done == N_GOOD
    return corpus, store


def _chunks(store, config):
    return sorted((FeatureStore(store).dataset_dir(config)).glob("*.parquet"))


def test_rerun_skips_everything_stored(fresh):
    corpus, store = fresh
    before = _chunks(store, SEED)
    s = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert (s.found, s.done, s.skipped, s.failed) == (N_FOUND, 0, N_GOOD, 1)  # failures are retried
    assert _chunks(store, SEED) == before


def test_touched_file_is_featurized_again(fresh):
    corpus, store = fresh
    old = _features(store, SEED)
    touched = corpus / "noise.wav"
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    s = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert (s.done, s.skipped, s.failed) == (1, N_GOOD - 1, 1)
    new = _features(store, SEED)
    assert new.height == N_GOOD  # one row per path
    assert (
        pl.scan_parquet(_chunks(store, SEED)).collect().height == N_GOOD + 1
    )  # the old row is still on disk
    row = new.filter(pl.col("path") == str(touched))
    assert row["mtime_ns"][0] == st.st_mtime_ns + 5_000_000_000
    assert row["written_at"][0] > old["written_at"].max()
    # Same audio, same numbers; the other rows are untouched.
    assert new.drop("written_at", "mtime_ns").equals(old.drop("written_at", "mtime_ns"))
    others = new.filter(pl.col("path") != str(touched))
    assert others.equals(old.filter(pl.col("path") != str(touched)))


def test_changed_content_replaces_the_features(fresh):
    corpus, store = fresh
    target = corpus / "speaker a" / "take 1.wav"
    # A different signal of the same length (so the same size): a 1 kHz tone.
    y = np.sin(2 * np.pi * 1000.0 * np.arange(6400) / 16_000 + 0.3).astype(np.float32)
    sf.write(target, y, 16_000, subtype="PCM_16")
    s = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert s.done == 1
    row = _features(store, SEED).filter(pl.col("path") == str(target))
    assert row.height == 1
    assert row["size"][0] == (corpus / "speaker a" / "take 1.wav").stat().st_size
    assert abs(row["zero_crossings"][0] - 2 * 1000.0 * 0.4) <= 2  # 2 per period, counted at 48 kHz


def test_force_recomputes_everything(fresh):
    corpus, store = fresh
    old = _features(store, SEED)
    s = featurize([corpus], store, feature_set="seed", force=True, options=RunOptions(jobs=1))
    assert (s.done, s.skipped, s.failed) == (N_GOOD, 0, 1)
    new = _features(store, SEED)
    assert new.height == N_GOOD
    assert (new["written_at"] > old["written_at"].max()).all()
    assert new.drop("written_at").equals(old.drop("written_at"))


def test_bad_file_is_recorded_and_the_batch_goes_on(fresh):
    corpus, store = fresh
    fails = FeatureStore(store).failures()
    assert fails["relpath"].to_list() == list(CORPUS_BAD)
    assert fails["feature_set"].to_list() == ["seed"]
    # Once the file is fixed it is featurized and no longer listed as failed.
    y = np.sin(2 * np.pi * 300 * np.arange(8000) / 16_000).astype(np.float32)
    (corpus / CORPUS_BAD[0]).unlink()
    sf.write(corpus / CORPUS_BAD[0], y, 16_000)
    s = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert (s.done, s.failed) == (1, 0)
    assert FeatureStore(store).failures().height == 0
    assert _features(store, SEED).height == N_GOOD + 1


def test_strict_stops_at_the_first_failure(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    with pytest.raises(AudioError) as e:
        featurize([corpus], tmp_path / "store", feature_set="seed", strict=True, options=RunOptions(jobs=1))
    assert e.value.path == str(corpus / CORPUS_BAD[0])
    # "broken.wav" sorts after the Actor_ folders and "03-...": the rows before it were written.
    assert _features(tmp_path / "store", SEED).height == 3


def test_small_chunks_and_progress(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    calls = []
    s = featurize([corpus], tmp_path / "store", feature_set="seed", chunk_files=2, options=RunOptions(jobs=1, progress=lambda done, total: calls.append((done, total))))
    assert s.done == N_GOOD
    assert calls == [(i, N_FOUND) for i in range(1, N_FOUND + 1)]
    assert len(_chunks(tmp_path / "store", SEED)) == 3  # 6 results in chunks of 2, the failure among them
    assert _features(tmp_path / "store", SEED).height == N_GOOD


def test_missing_folder_fails_before_touching_the_store(tmp_path):
    with pytest.raises(ConfigError, match="no such"):
        featurize([tmp_path / "nope"], tmp_path / "store", options=RunOptions(jobs=1))
    assert not (tmp_path / "store").exists()


def test_unknown_feature_set(tmp_path):
    with pytest.raises(ConfigError, match="egemaps"):
        featurize([tmp_path], tmp_path / "store", feature_set="egemaps", options=RunOptions(jobs=1))


def test_no_numba_cache_files(tmp_path):
    """Workers never JIT-compile: no numba cache appears, even with 2 workers and both sets."""
    corpus = make_corpus(tmp_path / "corpus")
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    code = textwrap.dedent(
        f"""
        import sys
        from semo_batch.featurize import featurize
        from semo_batch.options import RunOptions
        for fset in ("seed", "emo"):
            s = featurize([{str(corpus)!r}], {str(tmp_path / "store")!r}, feature_set=fset, options=RunOptions(jobs=2))
            assert (s.done, s.failed) == ({N_GOOD}, 1), s
        print(sorted(m for m in ("numba", "librosa", "ctranslate2") if m in sys.modules))
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"  # none is imported by the parent either
    assert list(cache.rglob("*")) == []


def test_channel_copies_are_stored_apart_and_skipped_next_time(corpus, tmp_path):
    store = tmp_path / "store"
    s = featurize([corpus], store, feature_set="seed", augment=(0.9,), channel_copies=1, options=RunOptions(jobs=1))
    fs = FeatureStore(store)
    config = get_config("seed")
    rows = fs.scan(config, augmented=True).collect()
    per_file = rows.group_by("path").agg(pl.struct("augment", "channel").alias("copies"))
    assert per_file.height == s.done
    assert all(sorted((round(c["augment"], 4), c["channel"]) for c in copies) == [(0.9, ""), (1.0, ""), (1.0, "random:1")]
               for copies in per_file["copies"].to_list())
    assert fs.scan(config).collect().height == s.done  # the recordings alone, as predict and evaluate see them
    again = featurize([corpus], store, feature_set="seed", augment=(0.9,), channel_copies=1, options=RunOptions(jobs=1))
    assert again.skipped == s.done
    other = featurize([corpus], tmp_path / "other", feature_set="seed", channel_copies=1, options=RunOptions(jobs=2))
    a = rows.filter(pl.col("channel") == "random:1").sort("path").select(names(config))
    b = FeatureStore(tmp_path / "other").scan(config, augmented=True).collect()
    b = b.filter(pl.col("channel") == "random:1").sort("path").select(names(config))
    assert other.done == s.done and a.equals(b)  # the same noise for the same file, whichever worker


def test_new_copies_are_added_to_a_store_without_its_originals_again(corpus, tmp_path, monkeypatch):
    import semo_batch.extract

    store = tmp_path / "store"
    featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    every = lambda: FeatureStore(store).scan(SEED, augmented=True, newest=False).collect()  # noqa: E731
    originals = every()
    assert originals.height == N_GOOD
    calls = []
    real = semo_batch.extract.features.extract
    monkeypatch.setattr(semo_batch.extract.features, "extract", lambda y, config: calls.append(len(y)) or real(y, config))
    s = featurize([corpus], store, feature_set="seed", augment=(0.9, 1.1), options=RunOptions(jobs=1))
    assert len(calls) == 2 * N_GOOD  # the two copies of each file; its own features are not computed again
    monkeypatch.undo()
    assert (s.found, s.done, s.extended, s.skipped, s.failed) == (N_FOUND, N_GOOD, N_GOOD, 0, 1)
    assert f"{N_GOOD} featurized ({N_GOOD} of them only their missing copies)" in s.lines()[0]
    rows = every()
    assert rows.height == 3 * N_GOOD  # not 4: the recordings' own rows were not stored again
    assert rows.filter(pl.col("augment") == 1.0).sort("path").equals(originals.sort("path"))
    # More channel copies later: only the new ones.
    featurize([corpus], store, feature_set="seed", augment=(0.9, 1.1), channel_copies=1, options=RunOptions(jobs=1))
    s = featurize([corpus], store, feature_set="seed", augment=(0.9, 1.1), channel_copies=3, options=RunOptions(jobs=1))
    assert (s.done, s.extended) == (N_GOOD, N_GOOD)
    rows = every()
    assert rows.height == 6 * N_GOOD
    assert rows.group_by("path", "augment", "channel").len()["len"].max() == 1  # no row twice
    # Fewer copies than stored: nothing to do.
    s = featurize([corpus], store, feature_set="seed", augment=(1.1,), channel_copies=2, options=RunOptions(jobs=1))
    assert (s.done, s.skipped) == (0, N_GOOD)
    (d,) = FeatureStore(store).summary().datasets
    assert (d.files, d.augmented, d.superseded) == (N_GOOD, 5 * N_GOOD, 0)
    # The same rows as featurizing everything at once.
    featurize([corpus], tmp_path / "once", feature_set="seed", augment=(0.9, 1.1), channel_copies=3,
              options=RunOptions(jobs=1))
    once = FeatureStore(tmp_path / "once").scan(SEED, augmented=True).collect()
    assert once.drop("written_at").equals(FeatureStore(store).scan(SEED, augmented=True).collect().drop("written_at"))


def test_a_changed_file_gets_all_its_copies_again(corpus, tmp_path):
    store = tmp_path / "store"
    featurize([corpus], store, feature_set="seed", augment=(0.9,), options=RunOptions(jobs=1))
    touched = corpus / "noise.wav"
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    s = featurize([corpus], store, feature_set="seed", augment=(0.9,), options=RunOptions(jobs=1))
    assert (s.done, s.extended, s.skipped) == (1, 0, N_GOOD - 1)
    (d,) = FeatureStore(store).summary().datasets
    assert (d.files, d.augmented, d.superseded) == (N_GOOD, N_GOOD, 2)
