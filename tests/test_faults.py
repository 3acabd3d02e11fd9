"""A store in trouble: damaged chunks are set aside and the rest is used; a full disk or a
read-only store stops featurize with one line, keeps what was written, and the same
command resumes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import polars as pl
import pyarrow.parquet as pq
import pytest
from conftest import CORPUS, CORPUS_BAD, make_corpus

import semo_batch.store
from semo_batch.config import get_config
from semo_batch.dataset import load_labelled
from semo_batch.errors import StoreError, StoreWriteError
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.store import FeatureStore

SEED = get_config("seed")
N_GOOD = len(CORPUS)
ONE = RunOptions(jobs=1)


@pytest.fixture
def chunked(tmp_path):
    """The corpus featurized in chunks of 2 files: 3 feature chunks (the failure in one of them)."""
    corpus = make_corpus(tmp_path / "corpus")
    store = tmp_path / "store"
    s = featurize([corpus], store, feature_set="seed", chunk_files=2, options=ONE)
    chunks = sorted(FeatureStore(store).dataset_dir(SEED).glob("*.parquet"))
    assert s.done == N_GOOD and len(chunks) == 3
    return corpus, store, chunks


def _paths(chunk) -> list[str]:
    return sorted(pq.read_table(chunk, columns=["path"])["path"].to_pylist())


def test_a_truncated_chunk_is_set_aside_and_its_files_featurized_again(chunked):
    corpus, store, chunks = chunked
    lost = _paths(chunks[0])
    assert [p.removeprefix(f"{corpus}/") for p in lost] == ["03-01-05-01-01-01-12.wav", "Actor_01/03-01-01-01-02-02-01.wav"]
    chunks[0].write_bytes(chunks[0].read_bytes()[:1000])
    fs = FeatureStore(store)
    summary = fs.summary()
    (d,) = summary.datasets
    assert (d.files, d.labelled, d.chunks) == (N_GOOD - 2, 1, 2)
    (warning,) = summary.warnings
    assert warning.startswith(f"{chunks[0]}: damaged chunk (") and "\n" not in warning
    assert f"moved to {store / 'quarantine' / 'features'}" in warning
    assert (store / "quarantine" / chunks[0].relative_to(store)).is_file()
    # Training data is read from the rest: the one labelled file left.
    data = load_labelled(FeatureStore(store), SEED)
    assert data.y.tolist() == ["surprised"]
    # The next featurize does the files of the lost chunk again, and only those.
    s = featurize([corpus], store, feature_set="seed", options=ONE)
    assert (s.done, s.skipped, s.failed) == (2, N_GOOD - 2, 1) and s.warnings == []
    rows = FeatureStore(store).scan(SEED).collect()
    assert rows.height == N_GOOD and sorted(rows["relpath"]) == sorted(CORPUS)
    assert set(lost) <= set(rows["path"])


def test_a_chunk_damaged_past_its_footer_is_found_when_read(chunked):
    corpus, store, chunks = chunked
    held = len(_paths(chunks[0]))
    # Zero a data page of a feature column: the footer still reads, the column does not.
    md = pq.ParquetFile(chunks[0]).metadata
    column = md.row_group(0).column(md.num_columns - 1)
    offset, size = column.data_page_offset, column.total_compressed_size  # a few dozen bytes: the footer follows
    raw = bytearray(chunks[0].read_bytes())
    raw[offset:offset + size] = bytes(size)
    chunks[0].write_bytes(bytes(raw))
    damaged = chunks[0].read_bytes()
    fs = FeatureStore(store)
    assert fs.summary().warnings == []  # the columns it reads are whole
    with pytest.raises(StoreError, match="damaged chunks were set aside") as e:
        fs.collect(fs.scan(SEED))  # as training reads
    assert "\n" not in str(e.value) and len(fs.warnings) == 1 and fs.warnings[0].startswith(f"{chunks[0]}: ")
    assert fs.collect(fs.scan(SEED)).height == N_GOOD - held  # the same call again: the rest
    # read() sets it aside and reads the rest in one call.
    (store / "quarantine" / chunks[0].relative_to(store)).unlink()
    chunks[0].write_bytes(damaged)
    fs = FeatureStore(store)
    assert fs.read(lambda: fs.scan(SEED)).height == N_GOOD - held and len(fs.warnings) == 1


def test_a_damaged_failures_chunk_is_set_aside(chunked):
    corpus, store, _ = chunked
    (fails,) = (store / "failures").glob("*.parquet")
    fails.write_bytes(b"PAR1 not really")
    s = FeatureStore(store).summary()
    assert s.failures == [] and len(s.warnings) == 1 and s.datasets[0].files == N_GOOD
    again = featurize([corpus], store, feature_set="seed", options=ONE)
    assert (again.done, again.failed) == (0, 1)  # the failure is recorded again


def _fail_writes_after(monkeypatch, n: int, err: int) -> list[int]:
    """Make the store's chunk writer raise ``OSError(err)`` after ``n`` chunks."""
    real = semo_batch.store.write_chunk
    calls = [0]

    def write(table, final):
        calls[0] += 1
        if calls[0] > n:
            raise OSError(err, os.strerror(err))
        real(table, final)

    monkeypatch.setattr(semo_batch.store, "write_chunk", write)
    return calls


def test_a_full_disk_stops_featurize_in_one_line_and_the_same_command_resumes(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus")
    store = tmp_path / "store"
    _fail_writes_after(monkeypatch, 2, errno.ENOSPC)
    with pytest.raises(StoreWriteError) as e:
        featurize([corpus], store, feature_set="seed", chunk_files=1, options=ONE)
    msg = str(e.value)
    assert msg == (f"{store}: no space left on device (2 chunks written are kept; free space and run the "
                   "same command to resume)")
    assert e.value.path == str(store) and e.value.full
    # What was written reads; no temporary is left behind.
    kept = FeatureStore(store).scan(SEED).collect()
    assert 1 <= kept.height <= 2
    assert not list(store.rglob("*.tmp"))
    monkeypatch.undo()
    s = featurize([corpus], store, feature_set="seed", chunk_files=1, options=ONE)
    assert (s.done, s.skipped, s.failed) == (N_GOOD - kept.height, kept.height, 1)
    assert FeatureStore(store).scan(SEED).collect().height == N_GOOD


def test_a_read_only_store_stops_featurize_in_one_line(tmp_path, monkeypatch):
    corpus = make_corpus(tmp_path / "corpus")
    _fail_writes_after(monkeypatch, 0, errno.EROFS)
    with pytest.raises(StoreWriteError) as e:
        featurize([corpus], tmp_path / "store", feature_set="seed", options=ONE)
    assert str(e.value) == (f"{tmp_path / 'store'}: read-only file system (0 chunks written are kept; "
                            "make the store writable and run the same command to resume)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_store_folder_without_write_permission(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    store = tmp_path / "store"
    featurize([corpus], store, feature_set="seed", options=ONE)
    (corpus / "new.wav").write_bytes((corpus / "noise.wav").read_bytes())
    store.chmod(0o555)
    try:
        with pytest.raises(StoreWriteError, match="cannot write the store: permission denied") as e:
            featurize([corpus], store, feature_set="seed", options=ONE)
        assert "\n" not in str(e.value)
        assert FeatureStore(store).scan(SEED).collect().height == N_GOOD  # still reads
    finally:
        store.chmod(0o755)


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d && umount $d; rc=$?; rmdir $d; exit $rc"
    try:
        return subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="cannot mount a tmpfs in a user namespace here")
def test_a_real_full_tmpfs_and_a_read_only_one(tmp_path):
    """A 2 MB tmpfs (in a private mount namespace, gone with the process): filled up after the
    first chunk, then freed, then remounted read-only."""
    corpus = make_corpus(tmp_path / "corpus")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    code = textwrap.dedent(f"""
        import json, os, subprocess
        from semo_batch.config import get_config
        from semo_batch.errors import StoreWriteError
        from semo_batch.featurize import featurize
        from semo_batch.options import RunOptions
        from semo_batch.store import FeatureStore
        mnt, corpus, out = {str(mnt)!r}, {str(corpus)!r}, {{}}
        store = os.path.join(mnt, "store")

        def fill(done, total):  # after the first chunk (2 files) is written
            if done == 2:
                with open(os.path.join(mnt, "filler"), "wb", buffering=0) as fh:
                    try:
                        while True:
                            fh.write(b"x" * 4096)
                    except OSError:
                        pass

        try:
            featurize([corpus], store, feature_set="seed", chunk_files=2, options=RunOptions(jobs=1, progress=fill))
        except StoreWriteError as e:
            out["full"] = str(e)
        out["files"] = sorted(str(p.relative_to(store)) for p in __import__("pathlib").Path(store).rglob("*"))
        out["kept"] = FeatureStore(store).scan(get_config("seed")).collect().height
        os.remove(os.path.join(mnt, "filler"))
        s = featurize([corpus], store, feature_set="seed", chunk_files=2, options=RunOptions(jobs=1))
        out["resumed"] = [s.done, s.skipped, s.failed]
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
        try:
            featurize([corpus], store, feature_set="seed", options=RunOptions(jobs=1))
        except StoreWriteError as e:
            out["ro"] = str(e)
        out["rows"] = FeatureStore(store).scan(get_config("seed")).collect().height
        print(json.dumps(out))
    """)
    script = f'mount -t tmpfs -o size=2m tmpfs "{mnt}" && exec "{sys.executable}" -c "$0"'
    res = subprocess.run(["unshare", "-rm", "sh", "-c", script, code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    store = mnt / "store"
    assert out["full"] == (f"{store}: no space left on device (1 chunk written is kept; free space and run "
                           "the same command to resume)")
    in_set = [f for f in out["files"] if f.startswith(f"features/seed-{SEED.fingerprint()}/")]
    assert len(in_set) == 1 and in_set[0].endswith(".parquet") and out["kept"] == 2  # the first chunk, no temporary
    assert out["resumed"] == [N_GOOD - 2, 2, len(CORPUS_BAD)]
    assert out["ro"] == f"{store}: cannot write the store: read-only file system"
    assert out["rows"] == N_GOOD


def test_raw_readers_and_the_store_agree_after_setting_aside(chunked):
    _, store, chunks = chunked
    left = _paths(chunks[0]) + _paths(chunks[1])
    chunks[2].write_bytes(b"")
    fs = FeatureStore(store)
    assert sorted(fs.scan(SEED).collect()["path"]) == sorted(left)
    assert fs.summary().datasets[0].files == len(left)
    # Once set aside, any Parquet engine reads the store's glob again.
    assert pl.scan_parquet(f"{store}/features/**/*.parquet").collect().height == len(left)


def test_a_damaged_chunk_of_a_read_only_store_is_skipped_in_place(chunked, monkeypatch):
    _, store, chunks = chunked
    held = len(_paths(chunks[0]))
    chunks[0].write_bytes(b"")
    real = os.replace

    def read_only(src, dst):
        if "quarantine" in str(dst):
            raise OSError(errno.EROFS, "Read-only file system")
        real(src, dst)

    monkeypatch.setattr(os, "replace", read_only)
    fs = FeatureStore(store)
    s = fs.summary()
    assert s.datasets[0].files == N_GOOD - held and chunks[0].exists()
    (warning,) = s.warnings
    assert warning.endswith("skipped, not moved (read-only file system); its files are featurized again by the next "
                            "featurize")
    assert fs.scan(SEED).collect().height == N_GOOD - held
