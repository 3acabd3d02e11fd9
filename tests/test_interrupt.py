"""Interruptions lose nothing: SIGKILL at random moments, Ctrl-C, and a second writer on the same store.

A folder of 300 short synthetic WAVs is featurized by a child process (two loky
workers) that is killed at seeded random times; after every kill the store must
read, hold no duplicate path and no half-written row, and a final run must
complete it with exactly one row per file.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from typer.testing import CliRunner

from semo_batch.cli import app
from semo_batch.config import get_config
from semo_batch.discover import AudioFile
from semo_batch.errors import StoreLockedError
from semo_batch.extract import extract_file
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.store import FeatureStore

EMO = get_config("emo")
FEATURES = names(EMO)
N_FILES = 300
SR, DURATION = 8_000, 0.3
KILL_ROUNDS = 6
#: The CLI does not expose the chunk size; this driver runs the library with small chunks.
# The driver is paced (20 ms per result, in the parent) so that a run lasts several
# seconds on any machine and every kill round finds work left to interrupt.
DRIVER = (
    "import sys, time\n"
    "from semo_batch.featurize import featurize\nfrom semo_batch.options import RunOptions\n"
    "featurize([sys.argv[1]], sys.argv[2], chunk_files=16, options=RunOptions(jobs=2, progress=lambda done, total: time.sleep(0.02)))\n"
)


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 WAVs of 0.3 s at 8 kHz, each a different tone in a little noise."""
    root = tmp_path_factory.mktemp("kill") / "wavs"
    root.mkdir()
    gen = np.random.default_rng(11)
    n = int(SR * DURATION)
    t = np.arange(n) / SR
    for i in range(N_FILES):
        y = 0.3 * np.sin(2 * np.pi * (110.0 + 2.0 * i) * t) + 0.01 * gen.standard_normal(n)
        sf.write(root / f"clip-{i:03d}.wav", y, SR, subtype="PCM_16")
    return root


def _expected_paths(root: Path) -> list[str]:
    return sorted(str(p) for p in root.glob("*.wav"))


def _chunks(store: Path) -> list[Path]:
    return sorted((store / "features").glob("*/*.parquet"))


def check_store(store: Path, root: Path) -> pl.DataFrame:
    """Every visible chunk is whole, the rows read, no path twice, every value present.

    Returns:
        All rows on disk (not deduplicated).
    """
    chunks = _chunks(store)
    if not chunks:
        return pl.DataFrame(schema={"path": pl.String})
    for c in chunks:
        assert not c.name.startswith("."), c  # temporaries are hidden from readers
        pq.read_metadata(c)  # a half-written file has no footer
    df = pl.scan_parquet(str(store / "features" / "**" / "*.parquet")).collect()
    dup = df.filter(pl.col("path").is_duplicated())["path"].unique().to_list()
    assert not dup, f"paths stored twice: {dup[:5]}"
    assert set(df["path"]) <= set(_expected_paths(root))
    meta = [
        "path",
        "relpath",
        "root",
        "size",
        "mtime_ns",
        "sample_rate",
        "channels",
        "duration",
        "fingerprint",
    ]
    nulls = df.select([*meta, *FEATURES]).null_count()
    assert nulls.sum_horizontal()[0] == 0, {c: nulls[c][0] for c in nulls.columns if nulls[c][0]}
    assert np.isfinite(df.select(FEATURES).to_numpy()).all()
    assert (df["sample_rate"] == SR).all() and (df["duration"] == DURATION).all()
    # The library's reader agrees.
    assert FeatureStore(store).scan(EMO).collect().height == df.height
    if (store / "failures").is_dir():
        FeatureStore(store).failures()
    return df


def _kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Process groups started by a test; whatever is left of them is killed afterwards."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        _kill_group(pid)


def _has_more_chunks(store: Path, n: int) -> bool:
    return len(_chunks(store)) > n


def _wait_while_running(p: subprocess.Popen, timeout: float, until: Callable[[], bool] | None = None) -> None:
    """Wait up to ``timeout`` seconds while ``p`` runs, or until ``until()`` holds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and p.poll() is None and not (until is not None and until()):
        time.sleep(0.02)


def _wait(pred: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(many: Path, tmp_path: Path, reaper: list[int]) -> None:
    store = tmp_path / "store"
    log = tmp_path / "driver.log"
    rng = np.random.default_rng(20240521)
    # (when to kill, what to kill): "chunk" = a random moment after the next chunk lands,
    # "clock" = a random moment after the start (possibly during start-up or discovery).
    # Clock rounds first, while most of the work is still to do; each chunk round then
    # costs at most a chunk or two, so every round finds work left to interrupt.
    plan = [
        ("clock", "group"),
        ("clock", "main"),
        ("chunk", "main"),
        ("chunk", "group"),
        ("chunk", "main"),
        ("chunk", "group"),
    ]
    assert len(plan) == KILL_ROUNDS
    history = []
    for when, target in plan:
        before = len(_chunks(store))
        with open(log, "ab") as fh:
            p = subprocess.Popen(
                [sys.executable, "-c", DRIVER, str(many), str(store)],
                start_new_session=True,
                stdout=fh,
                stderr=fh,
            )
        reaper.append(p.pid)
        if when == "clock":
            _wait_while_running(p, rng.uniform(0.3, 2.0))
        else:
            _wait_while_running(p, 60, until=functools.partial(_has_more_chunks, store, before))
            _wait_while_running(p, rng.uniform(0.0, 0.3))
        if p.poll() is None:
            if target == "group":
                os.killpg(p.pid, signal.SIGKILL)  # the driver and its workers at once
            else:
                os.kill(p.pid, signal.SIGKILL)  # the driver only; its workers are orphaned
        rc = p.wait(timeout=30)
        if rc == -signal.SIGKILL and target == "main":
            # The write lock died with the process, even while its workers may live on.
            fs = FeatureStore(store)
            fs.lock()
            fs.unlock()
        _kill_group(p.pid)
        df = check_store(store, many)
        history.append((when, target, rc, df.height))

    killed = [h for h in history if h[2] == -signal.SIGKILL]
    assert len(killed) >= KILL_ROUNDS - 2, history
    assert {h[1] for h in killed} == {"main", "group"}, history
    heights = [h[3] for h in history]
    assert heights == sorted(heights), history  # nothing is ever lost
    assert any(0 < h < N_FILES for h in heights), history  # some kill landed mid-run

    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(many), str(store)],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    df = check_store(store, many)
    assert sorted(df["path"]) == _expected_paths(many)  # exactly one row per file
    assert FeatureStore(store).failures().height == 0
    # Rows written by killed runs hold the same numbers as a fresh, uninterrupted extraction.
    for i in (0, 150, 299):
        path = str(many / f"clip-{i:03d}.wav")
        row = df.filter(pl.col("path") == path).select(FEATURES).to_numpy()[0]
        fresh = extract_file(AudioFile(path, str(many), os.path.basename(path)), EMO, 600.0).features
        np.testing.assert_allclose(row, fresh, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_whole_rows(many: Path, tmp_path: Path, reaper: list[int]) -> None:
    store = tmp_path / "store"
    p = subprocess.Popen(
        [sys.executable, "-m", "semo_batch", "featurize", str(many), "--store", str(store), "--jobs", "2"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reaper.append(p.pid)
    guard = threading.Timer(120, _kill_group, args=(p.pid,))
    guard.start()
    try:
        assert p.stderr is not None
        seen = []
        for line in p.stderr:  # wait until files are being processed: "featurize: 30/300 files, ..."
            seen.append(line)
            m = re.match(r"featurize: (\d+)/", line)
            if m and int(m.group(1)) >= 30:
                break
        os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole foreground group
        _, err = p.communicate(timeout=60)
    finally:
        guard.cancel()
    err = "".join(seen) + err
    assert p.returncode == 130, err
    last = err.strip().splitlines()[-1]
    m = re.match(r"^semo-batch: error: interrupted: 300 files found: (\d+) featurized", last)
    assert m, err
    df = check_store(store, many)
    assert df.height == int(m.group(1)) >= 30  # rows received before Ctrl-C were written, whole
    assert "run the same command again to resume" in last

    s = featurize([many], store, options=RunOptions(jobs=2))
    assert (s.skipped, s.done, s.failed) == (df.height, N_FILES - df.height, 0)
    assert sorted(check_store(store, many)["path"]) == _expected_paths(many)
    # Errors are one line, never a traceback (from the main process or from its workers).
    assert "Traceback" not in err, err


@pytest.mark.slow
def test_a_second_writer_gets_a_lock_error(many: Path, tmp_path: Path, reaper: list[int]) -> None:
    store = tmp_path / "store"
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "semo_batch",
            "featurize",
            str(many),
            "--store",
            str(store),
            "--jobs",
            "2",
            "-q",
        ],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reaper.append(first.pid)
    lock = store / ".lock"
    assert _wait(lambda: lock.is_file() and lock.read_text().strip() == str(first.pid), 60), "no lock taken"

    res = CliRunner().invoke(app, ["featurize", str(many), "--store", str(store), "-j", "1", "-q"])
    assert first.poll() is None, "the first run ended before the second started; nothing was tested"
    assert res.exit_code == 1, res.output
    assert res.stderr == (
        f"semo-batch: error: {store}: store is being written by another semo-batch process "
        f"(pid {first.pid}); "
        "wait for it to finish or use another --store\n"
    )
    assert res.stdout == ""
    with pytest.raises(StoreLockedError, match=rf"pid {first.pid}\)"):
        featurize([many], store, feature_set="seed", options=RunOptions(jobs=1))

    out, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert (
        out.splitlines()[0]
        == f"{N_FILES} files found: {N_FILES} featurized, 0 skipped (already in the store), 0 failed"
    )
    df = check_store(store, many)
    assert sorted(df["path"]) == _expected_paths(many)
    assert [p.parent.name for p in _chunks(store)] == [f"emo-{EMO.fingerprint()}"] * len(_chunks(store))
