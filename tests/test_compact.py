"""Compaction: a store rewritten without superseded rows; killed at any moment, nothing is lost."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import polars as pl
import pyarrow as pa
import pytest
from conftest import CORPUS, make_corpus

import semo_batch.compact as compact_mod
from semo_batch.compact import compact
from semo_batch.config import get_config
from semo_batch.errors import StoreError, StoreLockedError, StoreWriteError
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.store import ROW_COLUMNS, FeatureStore

SEED = get_config("seed")
EMO = get_config("emo")
N_GOOD = len(CORPUS)


def _rows(rows: list[tuple[str, int, float]], config, augment: float = 1.0) -> pa.Table:
    """Store rows (path, mtime_ns, every feature's value) of ``config``."""
    cols: dict[str, list] = {c: [None] * len(rows) for c in ROW_COLUMNS}
    cols |= {"path": [p for p, _, _ in rows], "relpath": [p.removeprefix("/data/") for p, _, _ in rows],
             "root": ["/data"] * len(rows), "size": [100] * len(rows), "mtime_ns": [m for _, m, _ in rows],
             "emotion": ["angry"] * len(rows), "augment": [augment] * len(rows), "channel": [""] * len(rows)}
    table = pa.table(cols)
    for name in names(config):
        table = table.append_column(name, pa.array([v for _, _, v in rows], pa.float32()))
    return table


def _failure(path: str) -> pa.Table:
    return pa.table({"path": [path], "relpath": [path[6:]], "root": ["/data"], "size": [5], "mtime_ns": [1],
                     "reason": ["not a decodable audio file"]})


def _fill(path) -> FeatureStore:
    """seed: 7 rows of which 5 current; emo: 3 rows of which 2 current; failures: 3 rows of which 1
    unresolved (d.wav; e.wav succeeded later)."""
    fs = FeatureStore(path)
    fs.write_rows(_rows([("/data/a.wav", 1, 1.0), ("/data/b.wav", 1, 2.0), ("/data/c.wav", 1, 3.0)], SEED),
                  SEED, names(SEED))
    fs.write_failures(_failure("/data/d.wav"), SEED)
    fs.write_failures(_failure("/data/e.wav"), SEED)
    fs.write_rows(_rows([("/data/a.wav", 2, 4.0), ("/data/e.wav", 1, 5.0)], SEED), SEED, names(SEED))
    fs.write_rows(_rows([("/data/a.wav", 2, 6.0)], SEED, augment=0.9), SEED, names(SEED))
    fs.write_rows(_rows([("/data/b.wav", 1, 2.0)], SEED), SEED, names(SEED))  # the same row again
    fs.write_failures(_failure("/data/d.wav"), SEED)
    fs.write_rows(_rows([("/data/a.wav", 1, 1.0), ("/data/b.wav", 1, 1.0)], EMO), EMO, names(EMO))
    fs.write_rows(_rows([("/data/b.wav", 3, 7.0)], EMO), EMO, names(EMO))
    return fs


def _view(path) -> dict:
    """What readers see: every current row (copies too) per feature set, and the failures."""
    fs = FeatureStore(path)
    out = {c.name: fs.scan(c, augmented=True).collect() for c in (SEED, EMO)}
    out["failures"] = fs.failures().drop("written_at", "relpath")
    return out


def _same_view(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].equals(b[k]), k


def _listing(fs: FeatureStore) -> dict[str, list[str]]:
    return {d.name: sorted(p.name for p in d.glob("*.parquet"))
            for d in [*fs.features_dir.iterdir(), fs.failures_dir]}


@pytest.fixture
def template(tmp_path_factory):
    base = tmp_path_factory.mktemp("template") / "store"
    _fill(base)
    return base


@pytest.fixture
def store(template, tmp_path):
    return shutil.copytree(template, tmp_path / "store")


def test_compact_drops_superseded_rows_and_readers_see_the_same(store):
    before = _view(store)
    emo, seed = FeatureStore(store).summary().datasets
    assert (seed.feature_set, seed.superseded, emo.superseded) == ("seed", 2, 1)
    s = compact(store)
    by = {x.feature_set: x for x in s.sets}
    assert (by["seed"].rows_before, by["seed"].rows_after, by["seed"].chunks_before, by["seed"].chunks_after) == (7, 5, 4, 1)
    assert (by["emo"].rows_before, by["emo"].rows_after, by["emo"].chunks_before, by["emo"].chunks_after) == (3, 2, 2, 1)
    assert (by["failures"].rows_before, by["failures"].rows_after, by["failures"].chunks_after) == (3, 1, 1)
    assert s.dropped == 5 and s.bytes_after < s.bytes_before
    assert f"seed {SEED.fingerprint()}: 7 rows in 4 chunks -> 5 rows in 1 chunk (2 superseded rows dropped)" in s.lines()
    assert "failures: 3 rows in 3 chunks -> 1 rows in 1 chunk (2 older or resolved failures dropped)" in s.lines()
    assert s.lines()[-1].startswith(f"{store}: 5 rows dropped; chunks ")
    _same_view(before, _view(store))
    fs = FeatureStore(store)
    assert all(d.superseded == 0 and d.chunks == 1 for d in fs.summary().datasets)
    assert fs.failures()["path"].to_list() == ["/data/d.wav"]
    assert not (store / ".compact").exists()
    # Any Parquet engine reads the compacted chunks: each current row once.
    assert pl.scan_parquet(f"{store}/features/seed-*/*.parquet").collect().height == 5


def test_a_compact_store_is_left_as_it_is(store):
    compact(store)
    listing = _listing(FeatureStore(store))
    s = compact(store)
    assert _listing(FeatureStore(store)) == listing
    assert all(not x.rewritten for x in s.sets) and s.dropped == 0
    assert f"seed {SEED.fingerprint()}: already compact (5 rows in 1 chunk)" in s.lines()


def test_compact_of_a_featurized_store_then_featurize_skips_everything(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    store = tmp_path / "store"
    featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    featurize([corpus], store, feature_set="seed", force=True, options=RunOptions(jobs=1))
    before = FeatureStore(store).scan(SEED).collect()
    assert compact(store).dropped == N_GOOD + 1  # the first rows, and the first failure of broken.wav
    assert FeatureStore(store).scan(SEED).collect().equals(before)
    s = featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
    assert (s.done, s.skipped) == (0, N_GOOD)


def _killed_after(real, n: int):
    """``real``, which dies (a RuntimeError standing for SIGKILL) at its call number ``n + 1``."""
    calls = [0]

    def fn(*args):
        calls[0] += 1
        if calls[0] > n:
            raise RuntimeError("killed")
        return real(*args)

    return fn


@pytest.mark.parametrize("swaps_done", [0, 1, 2])
def test_killed_between_the_swaps_nothing_is_lost(store, monkeypatch, swaps_done):
    """Three folders are swapped (seed, emo, failures), each in one step."""
    before, fs = _view(store), FeatureStore(store)
    old = _listing(fs)
    monkeypatch.setattr(compact_mod, "_exchange", _killed_after(compact_mod._exchange, swaps_done))
    with pytest.raises(RuntimeError, match="killed"):
        compact(store)
    monkeypatch.undo()
    assert (store / ".compact").is_dir()  # what the killed run left
    now = _listing(fs)
    changed = [k for k in old if now[k] != old[k]]
    assert len(changed) == swaps_done  # each folder holds its old chunks or its new ones
    assert all(len(now[k]) == 1 for k in changed)
    _same_view(before, _view(store))
    s = compact(store)  # removes the leftover, finishes
    assert not (store / ".compact").exists()
    assert sum(x.rewritten for x in s.sets) == 3 - swaps_done
    _same_view(before, _view(store))
    assert all(d.superseded == 0 for d in FeatureStore(store).summary().datasets)


@pytest.mark.parametrize("renames_done", [0, 1, 3, 5, 7, 9, 11])
def test_killed_mid_swap_where_folders_cannot_be_exchanged(store, monkeypatch, renames_done):
    """Without an atomic exchange the new chunks are moved in, then the old ones out: killed
    after any rename, readers still see every current row (some twice, identical)."""
    before = _view(store)
    real_swap = compact_mod._swap

    def swap(new, target):
        monkeypatch.setattr(compact_mod.os, "replace", replace)
        try:
            real_swap(new, target)
        finally:
            monkeypatch.setattr(compact_mod.os, "replace", real_replace)

    real_replace = os.replace
    replace = _killed_after(real_replace, renames_done)
    monkeypatch.setattr(compact_mod, "_exchange", lambda a, b: False)
    monkeypatch.setattr(compact_mod, "_swap", swap)
    with pytest.raises(RuntimeError, match="killed"):
        compact(store)
    monkeypatch.undo()
    _same_view(before, _view(store))
    with FeatureStore(store):  # any writer removes the leftover
        pass
    assert not (store / ".compact").exists()
    _same_view(before, _view(store))
    compact(store)
    _same_view(before, _view(store))
    assert all(d.superseded == 0 for d in FeatureStore(store).summary().datasets)


def test_sigkill_mid_compaction(store):
    before = _view(store)
    code = textwrap.dedent(f"""
        import os, signal
        import semo_batch.compact as c
        real = c._exchange
        calls = []
        def exchange(a, b):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(a, b)
        c._exchange = exchange
        c.compact({str(store)!r})
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert (store / ".compact").is_dir()
    _same_view(before, _view(store))
    compact(store)
    _same_view(before, _view(store))
    assert not (store / ".compact").exists()


def test_no_room_for_the_copy_leaves_the_store_as_it_was(store, monkeypatch):
    fs = FeatureStore(store)
    listing = _listing(fs)

    def full(table, final):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(compact_mod, "write_chunk", full)
    with pytest.raises(StoreWriteError) as e:
        compact(store)
    assert str(e.value) == (f"{fs.path}: no space left on device (the store is unchanged; compacting needs "
                            "room for a copy of the rows it keeps)")
    assert _listing(fs) == listing and not (store / ".compact").exists()


def test_compact_sets_damaged_chunks_aside(store):
    fs = FeatureStore(store)
    chunk = sorted(fs.dataset_dir(EMO).glob("*.parquet"))[-1]
    chunk.write_bytes(chunk.read_bytes()[:100])
    s = compact(store)
    assert len(s.warnings) == 1 and s.warnings[0].startswith(f"{chunk}: damaged chunk")
    assert FeatureStore(store).scan(EMO).collect()["mtime_ns"].to_list() == [1, 1]  # b.wav's first row again
    assert (store / "quarantine" / chunk.relative_to(store)).is_file()


def test_compact_refuses_a_missing_or_busy_store(tmp_path, store):
    with pytest.raises(StoreError, match="no such store"):
        compact(tmp_path / "nothing")
    with FeatureStore(store), pytest.raises(StoreLockedError):
        compact(store)


def test_compact_is_public():
    code = ("from semo_batch import compact, CompactSummary\n"
            "print(compact.__module__, compact.__name__, CompactSummary.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["semo_batch.compact", "compact", "CompactSummary"]
