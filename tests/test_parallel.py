"""How many worker processes a batch gets: what was asked, or with jobs=0 only as many as pay off."""

from __future__ import annotations

import pytest

from semo_batch import parallel
from semo_batch.config import get_config
from semo_batch.parallel import FILES_PER_WORKER, worker_count


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "resolve_jobs", lambda jobs: jobs or 8)


def test_jobs_given_are_kept_up_to_one_per_file(eight_cores: None) -> None:
    emo = get_config("emo")
    assert worker_count(1000, 3, emo) == 3
    assert worker_count(2, 3, emo) == 2
    assert worker_count(1, 1, emo) == 1


@pytest.mark.parametrize(
    "feature_set, per_worker", [("emo", FILES_PER_WORKER["light"]), ("seed", FILES_PER_WORKER["light"]),
                                ("whisper", FILES_PER_WORKER["encoder"]), ("emo+whisper", FILES_PER_WORKER["encoder"])]
)
def test_all_cores_only_as_many_as_the_batch_keeps_busy(eight_cores: None, feature_set: str, per_worker: int) -> None:
    config = get_config(feature_set)
    assert worker_count(16, 0, config) == 1  # a handful of files: this process
    assert worker_count(per_worker, 0, config) == 1
    assert worker_count(per_worker + 1, 0, config) == 2
    assert worker_count(3 * per_worker, 0, config) == 3
    assert worker_count(100 * per_worker, 0, config) == 8  # never more than the cores


def test_the_encoder_sets_spread_sooner_than_the_light_ones() -> None:
    assert FILES_PER_WORKER["encoder"] < FILES_PER_WORKER["light"]


def test_a_few_long_recordings_get_every_core_and_a_few_clips_stay_here(tmp_path, eight_cores, monkeypatch) -> None:
    import numpy as np
    import soundfile as sf

    from semo_batch.discover import discover
    from semo_batch.options import RunOptions
    from semo_batch.segment import SegmentParams

    sizes = []
    monkeypatch.setattr(parallel, "worker_count", lambda n, jobs, config: sizes.append(n) or 1)
    for name, seconds in (("clip1.wav", 3), ("clip2.wav", 3), ("hour.wav", 3600)):
        sf.write(tmp_path / name, np.zeros(int(seconds * 100), np.float32), 100)  # 100 Hz: small files
    list(parallel.map_recordings(discover([tmp_path / "clip1.wav", tmp_path / "clip2.wav"]), get_config("emo"),
                                 SegmentParams(), RunOptions(jobs=0)))
    list(parallel.map_recordings(discover([tmp_path / "hour.wav"]), get_config("emo"), SegmentParams(),
                                 RunOptions(jobs=0, max_duration=None)))
    assert sizes == [2, 900]  # two clips; an hour counts as 900 clips of 4 s
    assert worker_count(900, 0, get_config("emo+whisper")) == 8


def test_forked_workers_find_what_their_work_imports_on_first_use_already_imported(tmp_path, monkeypatch) -> None:
    import numpy as np
    import soundfile as sf

    from semo_batch import forkpool
    from semo_batch.choices import Backend
    from semo_batch.discover import discover
    from semo_batch.options import RunOptions
    from semo_batch.segment import SegmentParams

    if not forkpool.FORK_AVAILABLE:
        pytest.skip("the fork backend needs Linux")
    preloads = []

    def record(fn, items, *, preload=(), **kw):
        preloads.append(tuple(preload))
        return iter(())

    monkeypatch.setattr(forkpool, "ordered_map", record)
    for name in ("a.wav", "b.wav"):
        sf.write(tmp_path / name, np.zeros(1600, np.float32), 16000)
    files, options = discover([tmp_path]), RunOptions(jobs=2, backend=Backend.FORK)
    list(parallel.map_files(files, get_config("emo"), options))
    list(parallel.map_recordings(files, get_config("emo"), SegmentParams(), options))
    clips, recordings = preloads
    assert "numpy.fft" in clips and "scipy.fft" not in clips  # clips: no scipy.fft
    assert recordings == clips  # the voice detector transforms through semo_batch.features.fft too
