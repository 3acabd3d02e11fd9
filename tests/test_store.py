from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
from conftest import CORPUS, CORPUS_BAD, make_corpus

from semo_batch.config import get_config
from semo_batch.errors import StoreError, StoreLockedError
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.layout import META_SCHEMA
from semo_batch.options import RunOptions
from semo_batch.store import FAILURE_COLUMNS, META_COLUMNS, ROW_COLUMNS, FeatureStore, row_table

EMO = get_config("emo")
SEED = get_config("seed")


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A store holding the synthetic corpus in the emo set (jobs=1). Tests must not modify it."""
    base = tmp_path_factory.mktemp("filled")
    corpus = make_corpus(base / "corpus")
    store = base / "store"
    featurize([corpus], store, feature_set="emo", options=RunOptions(jobs=1))
    return corpus, FeatureStore(store)


def test_layout_of_a_store(filled):
    corpus, fs = filled
    ds = fs.dataset_dir(EMO)
    assert ds == fs.path / "features" / f"emo-{EMO.fingerprint()}"
    chunks = sorted(ds.iterdir())
    assert len(chunks) == 1 and chunks[0].name.startswith("part-") and chunks[0].suffix == ".parquet"
    assert [p.suffix for p in fs.failures_dir.iterdir()] == [".parquet"]
    assert not list(fs.path.rglob("*.tmp"))  # temporaries were renamed into place
    assert (fs.path / ".lock").is_file()


def test_columns_and_types(filled):
    _, fs = filled
    df = fs.scan(EMO).collect()
    assert df.columns == [*META_COLUMNS, *names(EMO)]
    schema = df.schema
    assert all(schema[n] == pl.Float32 for n in names(EMO))
    assert (schema["actor"], schema["repetition"], schema["size"], schema["sample_rate"]) == (
        pl.Int16,
        pl.Int8,
        pl.Int64,
        pl.Int32,
    )
    assert schema["emotion"] == pl.String
    assert schema["written_at"] == pl.Datetime("us", "UTC")


def test_rows_and_parsed_fields(filled):
    corpus, fs = filled
    df = fs.scan(EMO).collect()
    assert df.height == len(CORPUS)
    assert df["relpath"].to_list() == sorted(CORPUS)
    assert df["path"].to_list() == [str(corpus / r) for r in sorted(CORPUS)]
    assert set(df["root"]) == {str(corpus)}
    by = {r["relpath"]: r for r in df.iter_rows(named=True)}
    angry = by["03-01-05-01-01-01-12.wav"]
    assert (angry["emotion"], angry["actor"], angry["sex"], angry["intensity"]) == (
        "angry",
        12,
        "female",
        "normal",
    )
    neutral = by["Actor_01/03-01-01-01-02-02-01.wav"]
    assert (
        neutral["emotion"],
        neutral["actor"],
        neutral["sex"],
        neutral["repetition"],
        neutral["statement"],
    ) == (
        "neutral",
        1,
        "male",
        2,
        "dogs",
    )
    assert by["Actor_23/03-01-08-02-01-02-23.flac"]["emotion"] == "surprised"
    for other in ("speaker a/take 1.wav", "noise.wav"):
        assert by[other]["emotion"] is None and by[other]["actor"] is None and by[other]["sex"] is None
    for rel, (sr, ch, _, _) in CORPUS.items():
        assert (by[rel]["sample_rate"], by[rel]["channels"]) == (sr, ch)
        assert by[rel]["duration"] == pytest.approx(0.4, abs=1 / sr)
        assert by[rel]["size"] == (corpus / rel).stat().st_size
        assert by[rel]["mtime_ns"] == (corpus / rel).stat().st_mtime_ns
    assert set(df["feature_set"]) == {"emo"} and set(df["fingerprint"]) == {EMO.fingerprint()}
    assert by["Actor_23/03-01-08-02-01-02-23.flac"]["format"] == "FLAC"


def test_feature_values_belong_to_their_file(filled):
    # Each tone's median F0 (semitones above 27.5 Hz) is found in its own row.
    _, fs = filled
    df = fs.scan(EMO).collect()
    for row in df.iter_rows(named=True):
        f0 = CORPUS[row["relpath"]][3]
        if f0 is None:
            assert row["voiced_fraction"] < 0.1
        else:
            assert row["f0_p50"] == pytest.approx(12 * np.log2(f0 / 27.5), abs=0.35)
            assert row["voiced_fraction"] > 0.9


def test_parquet_metadata(filled):
    _, fs = filled
    chunk = next(fs.dataset_dir(EMO).glob("*.parquet"))
    md = json.loads(pq.read_schema(chunk).metadata[b"semo_batch"])
    assert md["feature_set"] == "emo"
    assert md["fingerprint"] == EMO.fingerprint()
    assert md["config"] == EMO.to_dict()
    assert md["feature_columns"] == names(EMO)
    assert fs.read_metadata(chunk) == md
    (info,) = fs.datasets()
    assert (info["feature_set"], info["fingerprint"], info["chunks"]) == ("emo", EMO.fingerprint(), 1)


def test_chunk_encoding_split_floats_and_statistics_for_filtering(filled):
    """Float features byte-stream-split (they compress), Snappy, statistics on the metadata
    columns only: a reader can still skip chunks by path, actor or emotion."""
    _, fs = filled
    chunk = next(fs.dataset_dir(EMO).glob("*.parquet"))
    group = pq.ParquetFile(chunk).metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    feature, path, actor, augment = (columns[c] for c in (names(EMO)[0], "path", "actor", "augment"))
    assert "BYTE_STREAM_SPLIT" in feature.encodings and not feature.is_stats_set
    for meta in (path, actor, augment):  # augment is a float, but a metadata column
        assert meta.is_stats_set and "BYTE_STREAM_SPLIT" not in meta.encodings, meta.path_in_schema
    assert {c.compression for c in columns.values()} == {"SNAPPY"}
    first = pl.read_parquet(chunk).sort("path")["path"][0]
    assert path.statistics.min == first


def test_any_parquet_engine_reads_the_glob(filled):
    _, fs = filled
    df = pl.scan_parquet(f"{fs.path}/features/**/*.parquet").collect()
    assert df.height == len(CORPUS)
    assert sorted(df["relpath"]) == sorted(CORPUS)
    via_scan = fs.scan(EMO).collect()
    np.testing.assert_array_equal(
        df.sort("path").select(names(EMO)).to_numpy(), via_scan.select(names(EMO)).to_numpy()
    )


def test_failures_are_recorded(filled):
    corpus, fs = filled
    fails = fs.failures()
    assert fails["relpath"].to_list() == list(CORPUS_BAD)
    assert fails["path"].to_list() == [str(corpus / CORPUS_BAD[0])]
    assert "not a decodable audio file" in fails["reason"][0]
    raw = pl.read_parquet(next(fs.failures_dir.glob("*.parquet")))
    assert raw.columns == list(FAILURE_COLUMNS)


def test_failed_files_by_reason_and_configuration(filled, tmp_path):
    corpus, fs = filled
    (bad,) = fs.failures().select("path", "size", "mtime_ns", "reason").iter_rows()
    assert fs.failed_files(EMO, bad[3]) == {bad[:3]}
    assert fs.failed_files(EMO, "no speech found") == set()
    assert fs.failed_files(SEED, bad[3]) == set()  # recorded for emo only
    empty = FeatureStore(tmp_path / "empty")
    assert empty.failed_files(EMO, bad[3]) == set()
    assert empty.failures().columns == list(FAILURE_COLUMNS) and empty.failures().height == 0


def test_scan_of_a_missing_configuration_names_what_is_there(filled):
    _, fs = filled
    with pytest.raises(StoreError) as e:
        fs.scan(SEED)
    msg = str(e.value)
    assert "'seed'" in msg and SEED.fingerprint() in msg
    assert f"emo ({EMO.fingerprint()})" in msg
    assert "\n" not in msg


def test_scan_of_an_empty_store(tmp_path):
    with pytest.raises(StoreError, match="it holds: none"):
        FeatureStore(tmp_path / "nothing").scan(EMO)
    assert FeatureStore(tmp_path / "nothing").failures().height == 0


def _rows(rows: list[tuple[str, int, float]], feature_names: list[str]) -> pa.Table:
    """Store rows (path, mtime_ns, every feature's value) as the writer hands them over."""
    cols: dict[str, list] = {c: [None] * len(rows) for c in ROW_COLUMNS}
    cols |= {
        "path": [p for p, _, _ in rows], "relpath": [p.removeprefix("/data/") for p, _, _ in rows],
        "root": ["/data"] * len(rows), "size": [100] * len(rows), "mtime_ns": [m for _, m, _ in rows],
        "sample_rate": [16_000] * len(rows), "augment": [1.0] * len(rows),
    }
    table = pa.table(cols)
    for name in feature_names:
        table = table.append_column(name, pa.array([v for _, _, v in rows], pa.float32()))
    return table


def test_scan_keeps_the_newest_row_per_path(tmp_path):
    fs = FeatureStore(tmp_path / "s")
    n = names(SEED)
    assert fs.write_rows(_rows([("/data/a.wav", 1, 1.0), ("/data/b.wav", 1, 1.0)], n), SEED, n)
    assert fs.write_rows(_rows([("/data/a.wav", 2, 2.0)], n), SEED, n)
    assert fs.write_rows(_rows([("/data/a.wav", 3, 3.0)], n), SEED, n)
    df = fs.scan(SEED).collect()
    assert df["path"].to_list() == ["/data/a.wav", "/data/b.wav"]
    assert df["mtime_ns"].to_list() == [3, 1]
    assert df["mel_000"].to_list() == [3.0, 1.0]
    assert fs.existing_keys(SEED) == {("/data/a.wav", 100, k, 1.0, "") for k in (1, 2, 3)} | {("/data/b.wav", 100, 1, 1.0, "")}


def test_write_nothing_writes_no_chunk(tmp_path):
    fs = FeatureStore(tmp_path / "s")
    assert fs.write_rows(_rows([], names(SEED)), SEED, names(SEED)) is None
    assert fs.write_failures(pa.table({c: pa.array([], pa.string()) for c in ("path", "reason")}), SEED) is None
    assert not fs.dataset_dir(SEED).exists()


def test_rows_missing_a_column_are_refused_in_one_line(tmp_path):
    fs = FeatureStore(tmp_path / "s")
    n = names(SEED)
    with pytest.raises(StoreError, match="do not fit the store's layout") as e:
        fs.write_rows(_rows([("/data/a.wav", 1, 1.0)], n).drop_columns(["mel_005"]), SEED, n)
    assert "\n" not in str(e.value)
    assert not fs.dataset_dir(SEED).exists()


def _row_values(**given):
    values = {c: [None, None] for c in ROW_COLUMNS}
    values.update(path=["/a.wav", "/b.wav"], size=[10, 20], mtime_ns=[1, 2], sample_rate=[48000, 16000],
                  channels=[1, 2], duration=[1.5, 2.0], repetition=[1, 2], actor=[7, 24], augment=[1.0, 0.9])
    values.update(given)
    return values


def test_row_table_builds_columns_in_the_store_types():
    t = row_table(_row_values())
    assert t.schema == pa.schema([META_SCHEMA.field(c) for c in ROW_COLUMNS])
    assert t.column("actor").to_pylist() == [7, 24]
    assert t.column("augment").to_pylist() == [1.0, np.float32(0.9)]
    assert t.column("emotion").null_count == 2
    empty = row_table({c: [] for c in ROW_COLUMNS})
    assert empty.num_rows == 0 and empty.schema == t.schema


def test_row_table_values_that_do_not_fit_are_refused_when_written(tmp_path):
    # An actor number past int16 keeps its own type in row_table; the store names the problem.
    t = row_table(_row_values(actor=[7, 70000]))
    assert t.column("actor").type == pa.int64()
    n = names(SEED)
    features = pa.table({c: pa.array([0.0, 0.0], pa.float32()) for c in n})
    rows = pa.Table.from_arrays([*t.columns, *features.columns], names=[*t.column_names, *n])
    with pytest.raises(StoreError, match="do not fit the store's layout"):
        FeatureStore(tmp_path / "s").write_rows(rows, SEED, n)


def test_a_damaged_chunk_is_set_aside_with_a_one_line_warning(tmp_path):
    fs = FeatureStore(tmp_path / "s")
    n = names(SEED)
    chunk = fs.write_rows(_rows([("/data/a.wav", 1, 1.0)], n), SEED, n)
    fs.write_rows(_rows([("/data/b.wav", 1, 2.0)], n), SEED, n)
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    fresh = FeatureStore(tmp_path / "s")
    s = fresh.summary()
    (d,) = s.datasets
    assert (d.files, d.chunks) == (1, 1)  # b.wav, from the chunk that reads
    (warning,) = s.warnings
    assert warning.startswith(f"{chunk}: damaged chunk (") and "\n" not in warning
    moved = fs.path / "quarantine" / chunk.relative_to(fs.path)
    assert not chunk.exists() and moved.is_file() and s.quarantined == [str(moved)]
    assert f"1 damaged chunk set aside in {fs.path / 'quarantine'}" in s.lines()
    assert fresh.scan(SEED).collect()["path"].to_list() == ["/data/b.wav"]
    # Once set aside it is no longer news: a later look warns of nothing, but still counts it.
    again = FeatureStore(tmp_path / "s").summary()
    assert again.warnings == [] and again.quarantined == [str(moved)]


def test_a_store_that_is_not_one(tmp_path):
    with pytest.raises(StoreError, match="no such store"):
        FeatureStore(tmp_path / "nothing").summary()
    (tmp_path / "folder").mkdir()
    with pytest.raises(StoreError, match="folder: not a feature store"):
        FeatureStore(tmp_path / "folder").summary()
    with FeatureStore(tmp_path / "empty"):  # a store that nothing was written to yet
        pass
    assert FeatureStore(tmp_path / "empty").summary().lines() == ["0 files with a recorded failure"]


def _copies(table: pa.Table, augment: float, channel: str) -> pa.Table:
    table = table.set_column(table.schema.get_field_index("augment"), "augment", pa.array([augment] * table.num_rows))
    return table.set_column(table.schema.get_field_index("channel"), "channel", pa.array([channel] * table.num_rows))


def test_summary_counts_files_labels_copies_superseded_rows_and_failures(tmp_path):
    fs = FeatureStore(tmp_path / "s")
    n = names(SEED)
    base = _rows([("/data/a.wav", 1, 1.0), ("/data/b.wav", 1, 1.0), ("/data/c.wav", 1, 1.0)], n)
    base = base.set_column(base.schema.get_field_index("emotion"), "emotion", pa.array(["angry", None, "sad"]))
    fs.write_rows(base, SEED, n)
    fs.write_rows(_copies(base, 0.9, ""), SEED, n)  # 3 speed copies
    fs.write_rows(_copies(base.slice(0, 2), 1.0, "random:1"), SEED, n)  # 2 channel copies
    fs.write_rows(_rows([("/data/a.wav", 2, 1.0)], n), SEED, n)  # a.wav changed: its first row is superseded
    fs.write_rows(_copies(base.slice(1, 1), 0.9, ""), SEED, n)  # b.wav's speed copy again: superseded too
    fails = pa.table({"path": ["/data/d.wav"], "relpath": ["d.wav"], "root": ["/data"], "size": [5],
                      "mtime_ns": [1], "reason": ["not a decodable audio file"]})
    fs.write_failures(fails, SEED)
    fs.write_failures(fails, EMO)  # another feature set's failure: not counted for seed
    s = FeatureStore(tmp_path / "s").summary()
    (d,) = s.datasets
    # a.wav's newest row has no label (the rewrite above); c.wav keeps "sad".
    assert (d.files, d.labelled, d.augmented, d.superseded, d.failures, d.chunks) == (3, 1, 5, 2, 1, 5)
    assert d.line() == (f"seed   {SEED.fingerprint()}  3 files in 5 chunks (1 labelled, 5 augmented rows, "
                        f"2 superseded rows, 1 failures)  {fs.dataset_dir(SEED)}")
    assert s.failures == [("/data/d.wav", "not a decodable audio file")] * 2
    assert "2 superseded rows: compacting the store (semo-batch compact) drops them" in s.lines()
    assert s.quarantined == [] and s.warnings == []


def test_summary_of_the_featurized_corpus(filled):
    corpus, fs = filled
    (d,) = FeatureStore(fs.path).summary().datasets
    assert (d.files, d.labelled, d.augmented, d.superseded, d.failures, d.chunks) == (len(CORPUS), 3, 0, 0, 1, 1)


def test_lock_is_exclusive(tmp_path):
    a = FeatureStore(tmp_path / "s")
    a.lock()
    try:
        with pytest.raises(StoreLockedError) as e:
            FeatureStore(tmp_path / "s").lock()
        assert f"pid {os.getpid()}" in str(e.value)
        assert str(a.path) in str(e.value)
    finally:
        a.unlock()
    with FeatureStore(tmp_path / "s"):  # free again once released
        pass


def test_lock_held_by_another_process(tmp_path):
    store = tmp_path / "s"
    code = textwrap.dedent(
        f"""
        import sys, time
        from semo_batch.store import FeatureStore
        fs = FeatureStore({str(store)!r}); fs.lock()
        print("locked", flush=True)
        sys.stdin.readline()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError, match=f"pid {proc.pid}"):
            FeatureStore(store).lock()
        clip = tmp_path / "clips" / "a.wav"
        clip.parent.mkdir()
        sf.write(clip, np.sin(np.arange(8000) / 5.0) * 0.3, 16_000)
        with pytest.raises(StoreLockedError):
            featurize([clip.parent], store, options=RunOptions(jobs=1))
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    with FeatureStore(store):  # released when its holder ended
        pass


def test_a_part_of_a_combined_set_is_read_from_its_rows(tmp_path):
    import dataclasses

    from semo_batch.config import FeatureConfig
    from semo_batch.dataset import load_labelled

    whisper = get_config("whisper")
    both = dataclasses.replace(get_config("emo"), name="whisper+emo", parts=(whisper, EMO))
    both = FeatureConfig.from_dict(both.to_dict())
    n = names(whisper) + names(EMO)
    table = _rows([("/data/Actor_01/03-01-05-01-01-01-01.wav", 1, 2.0)], n)
    table = table.set_column(table.schema.get_field_index("emotion"), "emotion", pa.array(["angry"]))
    fs = FeatureStore(tmp_path / "s")
    fs.write_rows(table, both, n)
    assert fs.source_for(EMO) == both and fs.source_for(whisper) == both and fs.source_for(SEED) == SEED
    data = load_labelled(fs, EMO)
    assert data.columns == names(EMO) and data.X.shape == (1, len(names(EMO))) and (data.X == 2.0).all()


def test_a_store_from_before_the_corpus_columns_reads_its_speakers_from_the_actor(tmp_path):
    from semo_batch.dataset import load_labelled

    n = names(SEED)
    table = _rows([("/data/Actor_07/03-01-05-01-01-01-07.wav", 1, 2.0)], n)
    table = table.set_column(table.schema.get_field_index("emotion"), "emotion", pa.array(["angry"]))
    table = table.set_column(table.schema.get_field_index("actor"), "actor", pa.array([7], pa.int16()))
    fs = FeatureStore(tmp_path / "s")
    chunk = fs.write_rows(table, SEED, n)
    old = pq.read_table(chunk)
    pq.write_table(old.drop_columns(["corpus", "speaker"]).replace_schema_metadata(old.schema.metadata), chunk)
    assert "speaker" not in pq.read_schema(chunk).names
    data = load_labelled(fs, SEED)
    assert data.speakers.tolist() == ["ravdess:07"] and data.corpora.tolist() == ["ravdess"]
