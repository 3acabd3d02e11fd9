"""The Dask backend on local clusters: same store as loky, no file lost when workers die."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from conftest import harmonic_tone

distributed = pytest.importorskip("distributed")

from semo_batch import dask_backend
from semo_batch.config import get_config
from semo_batch.discover import discover
from semo_batch.errors import ConfigError
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.parallel import map_files
from semo_batch.store import FeatureStore

EMO = get_config("emo")
N_GOOD = 40
BROKEN = "zz-broken.wav"
#: A port nothing listens on (the discard service is not run on test machines).
UNREACHABLE = "tcp://127.0.0.1:9"


def _make_corpus(root: Path, n: int = N_GOOD) -> Path:
    """``n`` short harmonic tones with RAVDESS names over 4 actors, plus one broken file."""
    gen = np.random.default_rng(20240521)
    for i in range(n):
        actor, emotion, statement = 1 + i % 4, 1 + i // 4 % 8, 1 + i // 32
        sr = (16_000, 22_050, 48_000)[i % 3]
        y = 0.5 * harmonic_tone(110.0 + 7.0 * i, sr=sr, duration=0.5) + 0.01 * gen.standard_normal(sr // 2)
        path = root / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-{statement:02d}-01-{actor:02d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, y, sr, subtype="PCM_16")
    (root / BROKEN).write_text("this is text, not audio\n")
    return root


class _Sabotage(distributed.WorkerPlugin):
    """In each worker process: make every file take ``delay`` s, and kill the worker on ``poison`` files.

    It wraps the per-file function the batch task calls, so a worker started
    later (a nanny restarting a dead one) gets it too.
    """

    def __init__(self, delay: float = 0.0, poison: str | None = None) -> None:
        self.delay, self.poison = delay, poison

    def setup(self, worker):
        from semo_batch import workers as mod

        self.original = mod.extract_file

        def sabotaged(file, config, *args, **kwargs):
            if self.poison is not None and self.poison in file.path:
                os._exit(1)
            time.sleep(self.delay)
            return self.original(file, config, *args, **kwargs)

        mod.extract_file = sabotaged

    def teardown(self, worker):
        from semo_batch import workers as mod

        mod.extract_file = self.original


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _make_corpus(tmp_path_factory.mktemp("dask") / "corpus")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, as ``dask worker --nthreads 1`` would give."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    ) as c:
        yield c


@pytest.fixture(scope="module")
def stores(corpus, cluster, tmp_path_factory):
    """The corpus featurized by loky (2 jobs) and by the cluster. Tests must not modify them."""
    base = tmp_path_factory.mktemp("stores")
    loky = featurize([corpus], base / "loky", feature_set="emo", options=RunOptions(jobs=2))
    dask = featurize([corpus], base / "dask", feature_set="emo", options=RunOptions(backend="dask", scheduler=cluster.scheduler_address))
    return base, loky, dask


@pytest.fixture(scope="module")
def reference(corpus):
    """loky's results for the corpus, by path."""
    files = discover([corpus])
    return {r.file.path: r for r in map_files(files, EMO, RunOptions(jobs=2, max_duration=None))}


def _rows(store: Path) -> pl.DataFrame:
    return FeatureStore(store).scan(EMO).collect().drop("written_at")


def _check_against(results, files, reference) -> None:
    """Every file is back, in input order, and equal to loky's result (features bit for bit)."""
    assert [r.file for r in results] == list(files)
    for r in results:
        ref = reference[r.file.path]
        assert r.error == ref.error
        assert (r.size, r.mtime_ns, r.meta) == (ref.size, ref.mtime_ns, ref.meta)
        if ref.features is None:
            assert r.features is None
        else:
            np.testing.assert_array_equal(r.features, ref.features)


def test_store_equals_loky_store(stores, corpus):
    base, loky, dask = stores
    assert (
        (dask.found, dask.done, dask.failed)
        == (loky.found, loky.done, loky.failed)
        == (N_GOOD + 1, N_GOOD, 1)
    )
    a, b = _rows(base / "loky"), _rows(base / "dask")
    assert a.height == b.height == N_GOOD
    assert a.columns == b.columns
    assert a.equals(b)  # same paths, metadata and float32 features, row for row
    fa = FeatureStore(base / "loky").failures().select("path", "reason")
    fb = FeatureStore(base / "dask").failures().select("path", "reason")
    assert fa.equals(fb) and fb["path"].to_list() == [str(corpus / BROKEN)]


def test_speed_perturbations_equal_loky(corpus, cluster):
    files = discover([corpus])[:8]
    loky = list(map_files(files, EMO, RunOptions(jobs=2, max_duration=None), augment=(0.9, 1.1)))
    dask = list(
        map_files(files, EMO, RunOptions(jobs=0, max_duration=None, backend="dask", scheduler=cluster.scheduler_address), augment=(0.9, 1.1))
    )
    assert [r.file for r in dask] == files
    for a, b in zip(loky, dask):
        assert [f for f, _ in b.augmented] == [f for f, _ in a.augmented] == [0.9, 1.1]
        for (_, va), (_, vb) in zip(a.augmented, b.augmented):
            np.testing.assert_array_equal(va, vb)


def test_store_reads_with_duckdb_and_pyarrow(stores):
    duckdb = pytest.importorskip("duckdb")
    import pyarrow.dataset as ds

    base, _, _ = stores
    store = base / "dask"
    glob = f"{store}/features/**/*.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(N_GOOD,)]
    emotions = duckdb.sql(
        f"select emotion, count(*) from read_parquet('{glob}') group by 1 order by 1"
    ).fetchall()
    assert sum(n for _, n in emotions) == N_GOOD and len(emotions) == 8
    table = ds.dataset(store / "features", format="parquet").to_table()
    assert table.num_rows == N_GOOD
    feats = names(EMO)
    assert set(feats) <= set(table.column_names)
    assert str(table.schema.field(feats[0]).type) == "float"
    np.testing.assert_array_equal(
        np.sort(table.column("path").to_numpy(zero_copy_only=False)), _rows(base / "loky")["path"].to_numpy()
    )


def test_local_cluster_without_scheduler(corpus, reference):
    # No scheduler: the backend starts (and stops) a local cluster of `jobs` workers.
    files = discover([corpus])[:6] + discover([corpus])[-1:]
    results = list(map_files(files, EMO, RunOptions(jobs=1, max_duration=None, backend="dask")))
    _check_against(results, files, reference)


def _semo_tasks(dask_scheduler) -> int:  # run on the scheduler
    return sum(1 for key in dask_scheduler.tasks if str(key).startswith("semo-extract"))


def test_in_flight_work_is_bounded(corpus, cluster):
    files = discover([corpus])
    window = 3
    seen = []
    with distributed.Client(cluster, set_as_default=False) as client:
        for _ in dask_backend.map_files_dask(
            files,
            EMO,
            jobs=None,
            max_duration=None,
            scheduler=cluster.scheduler_address,
            batch_files=1,
            window=window,
        ):
            seen.append(client.run_on_scheduler(_semo_tasks))
    # 41 one-file tasks, never more than the window (and one just released) on the scheduler.
    assert len(seen) == len(files) and 1 <= max(seen) <= window + 1, seen


def test_killing_a_worker_mid_run_loses_no_file(corpus, cluster, reference):
    files = discover([corpus])
    with distributed.Client(cluster, set_as_default=False) as client:
        client.register_plugin(_Sabotage(delay=0.05), name="slow")
        try:
            pids = client.run(os.getpid)
            results, killed = [], None
            for res in dask_backend.map_files_dask(
                files, EMO, jobs=None, max_duration=None, scheduler=cluster.scheduler_address, batch_files=3
            ):
                results.append(res)
                if killed is None:
                    busy = [addr for addr, keys in client.processing().items() if keys]
                    assert busy, "nothing running after the first result: the run is too short to test"
                    killed = pids[busy[0]]
                    os.kill(killed, signal.SIGKILL)
        finally:
            client.unregister_worker_plugin("slow")
        assert killed not in client.run(os.getpid, on_error="return").values()
    _check_against(results, files, reference)
    assert sum(r.error is not None for r in results) == 1  # the broken file only


def test_a_file_that_keeps_killing_workers_is_recorded(corpus, reference):
    # allowed-failures 0: a task fails for good on the first death. The poisoned file
    # takes its batch down; the batch is split and every other file of it still comes
    # back featurized. Saturation 1, as the backend's own local cluster has it: a
    # worker holds only the task it runs, so no other task is blamed for the death.
    files = discover([corpus])
    poison = files[5].path
    with pytest.MonkeyPatch.context() as mp:
        import dask

        mp.setattr(dask_backend, "WORKER_TIMEOUT", 20.0)
        with dask.config.set(
            {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
        ):
            c = distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
            )
        with c, distributed.Client(c, set_as_default=False) as client:
            client.register_plugin(_Sabotage(poison=os.path.basename(poison)), name="poison")
            results = list(
                dask_backend.map_files_dask(
                    files, EMO, jobs=None, max_duration=None, scheduler=c.scheduler_address, batch_files=4
                )
            )
    assert [r.file for r in results] == list(files)
    bad = {r.file.path: r.error for r in results if r.error is not None}
    assert bad == {poison: dask_backend.KILLED_WORKER_REASON, files[-1].path: reference[files[-1].path].error}
    _check_against(
        [r for r in results if r.file.path != poison], [f for f in files if f.path != poison], reference
    )


def test_unreachable_scheduler_is_a_config_error(corpus, monkeypatch):
    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT", 1.0)
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        list(map_files(discover([corpus]), EMO, RunOptions(jobs=0, max_duration=None, backend="dask", scheduler=UNREACHABLE)))
    assert time.monotonic() - t0 < 15


def test_cli_reports_unreachable_scheduler(corpus, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from semo_batch.cli import app

    monkeypatch.setattr(dask_backend, "CONNECT_TIMEOUT", 1.0)
    out = CliRunner().invoke(
        app,
        [
            "featurize",
            str(corpus),
            "--store",
            str(tmp_path / "s"),
            "--backend",
            "dask",
            "--scheduler",
            UNREACHABLE,
        ],
    )
    assert out.exit_code == 2
    assert "cannot reach the Dask scheduler" in out.output and "Traceback" not in out.output


def test_cli_featurize_on_a_cluster(corpus, cluster, stores, tmp_path):
    from typer.testing import CliRunner

    from semo_batch.cli import app

    store = tmp_path / "cli"
    out = CliRunner().invoke(
        app,
        [
            "featurize",
            str(corpus),
            "--store",
            str(store),
            "--backend",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--quiet",
        ],
    )
    assert out.exit_code == 3, out.output  # done, one file failed (recorded)
    assert f"{N_GOOD + 1} files found: {N_GOOD} featurized" in out.output
    assert _rows(store).equals(_rows(stores[0] / "loky"))


def test_missing_dask_gives_the_install_hint(corpus, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'semo-batch\[dask\]'"):
        list(map_files(discover([corpus]), EMO, RunOptions(jobs=0, max_duration=None, backend="dask")))


def test_recordings_segment_on_the_cluster_as_on_loky(corpus, cluster):
    """predict's path (decode in blocks, segment, featurize each segment): one task a file."""
    from semo_batch.parallel import map_recordings
    from semo_batch.segment import SegmentParams

    files = discover([corpus])[:6]
    params = SegmentParams()
    loky = list(map_recordings(files, EMO, params, RunOptions(jobs=2, max_duration=None)))
    dask = list(map_recordings(files, EMO, params, RunOptions(jobs=0, max_duration=None, backend="dask",
                                                               scheduler=cluster.scheduler_address)))
    assert [r.path for r in dask] == [r.path for r in loky] == [f.path for f in files]
    for a, b in zip(loky, dask):
        assert a.segments == b.segments and a.error == b.error
        np.testing.assert_array_equal(a.features, b.features)
