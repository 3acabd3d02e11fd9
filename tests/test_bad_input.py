"""Broken and odd input: each file gives a correct row or a recorded one-line failure; the batch completes.

One corpus of bad and unusual files is built in a temporary folder and run through
``featurize`` (library, jobs=1, and the CLI in a subprocess with two workers) and
``predict`` (library and CLI, with the bundled model).  Each file's expectation is
listed next to the code that writes it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import soundfile as sf
from conftest import harmonic_tone
from typer.testing import CliRunner

from semo_batch.cli import app
from semo_batch.config import get_config
from semo_batch.discover import discover
from semo_batch.errors import AudioError, ConfigError
from semo_batch.features import names
from semo_batch.featurize import featurize
from semo_batch.options import RunOptions
from semo_batch.predict import predict_folders, write_csv
from semo_batch.resources import default_model_dir
from semo_batch.store import FeatureStore

EMO = get_config("emo")
FEATURES = names(EMO)
SR = 16_000
#: The emo set reports F0 in semitones above 27.5 Hz; the corpus tone is 220 Hz, three octaves up.
F0_SEMITONES = 12 * math.log2(220.0 / 27.5)
#: Cells a spreadsheet would run as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = dict[str, Any]
Check = Callable[[Row, dict[str, Row]], None]


@dataclasses.dataclass(frozen=True)
class Expect:
    """What one file must give: a failure whose reason matches ``reason``, or (``reason=None``) a row."""

    reason: str | None = None
    check: Check | None = None


def _tone(sr: int = SR, *, duration: float = 0.4, channels: int = 1) -> np.ndarray:
    y = 0.5 * harmonic_tone(220.0, sr=sr, duration=duration)
    return np.tile(y[:, None], (1, channels)) if channels > 1 else y


def _png_bytes() -> bytes:
    """A real 1x1 grey PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def _patch_wav_sizes(data: bytes, data_bytes: int) -> bytes:
    """Rewrite the RIFF and ``data`` chunk sizes of a canonical 44-byte-header WAV."""
    out = bytearray(data)
    i = out.find(b"data")
    assert i == 36, "expected a canonical WAV header"
    struct.pack_into("<I", out, i + 4, data_bytes)
    struct.pack_into("<I", out, 4, data_bytes + 36)
    return bytes(out)


# -- checks on rows ------------------------------------------------------------------------------


def _meta(**want: Any) -> Check:
    def check(row: Row, rows: dict[str, Row]) -> None:
        for key, value in want.items():
            assert row[key] == (pytest.approx(value) if isinstance(value, float) else value), key

    return check


def _sounds_like(ref: str, **meta: Any) -> Check:
    """Robust features (pitch, spectral shape, level) agree with the row of ``ref``."""

    def check(row: Row, rows: dict[str, Row]) -> None:
        _meta(**meta)(row, rows)
        r = rows[ref]
        assert row["f0_p50"] == pytest.approx(r["f0_p50"], abs=0.1)
        assert row["centroid_mean"] == pytest.approx(r["centroid_mean"], rel=0.01)
        assert row["rolloff_mean"] == pytest.approx(r["rolloff_mean"], rel=0.01)
        assert row["energy_mean"] == pytest.approx(r["energy_mean"], abs=0.1)
        assert row["voiced_fraction"] == pytest.approx(r["voiced_fraction"], abs=0.02)

    return check


def _same_features_as(ref: str, **meta: Any) -> Check:
    """Every feature equals those of ``ref`` (identical channels downmix to the same signal)."""

    def check(row: Row, rows: dict[str, Row]) -> None:
        _meta(**meta)(row, rows)
        a = np.array([row[n] for n in FEATURES])
        b = np.array([rows[ref][n] for n in FEATURES])
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=0.05)

    return check


def _a_220_hz_tone(**meta: Any) -> Check:
    def check(row: Row, rows: dict[str, Row]) -> None:
        _meta(**meta)(row, rows)
        assert row["f0_p50"] == pytest.approx(F0_SEMITONES, abs=0.2)
        # Harmonics 220, 440, ... Hz with 1/k amplitudes: the centroid sits near 418 Hz.
        assert row["centroid_mean"] == pytest.approx(418.0, rel=0.02)
        assert row["voiced_fraction"] > 0.9

    return check


def _silent(row: Row, rows: dict[str, Row]) -> None:
    assert row["voiced_fraction"] == 0.0
    assert row["duration"] == pytest.approx(1.0)


# -- the corpus ----------------------------------------------------------------------------------


def build_corpus(root: Path, *, write: bool = True) -> tuple[dict[str, Expect], list[str]]:
    """Write the bad-input corpus under ``root`` (``write=False``: only list it).

    Returns:
        ``(expect, ignored)``: the expectation for every file that must be found (by
        relpath), and the relpaths of things that must be neither a row nor a failure
        (not regular files, links that are not followed, non-audio files).
    """
    expect: dict[str, Expect] = {}

    def wav(rel: str, y: np.ndarray, sr: int = SR, **kw: Any) -> Path:
        path = root / rel
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, y, sr, **kw)
        return path

    def raw(rel: str, data: bytes) -> Path:
        path = root / rel
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return path

    buf = io.BytesIO()
    sf.write(buf, _tone(), SR, subtype="PCM_16", format="WAV")
    canonical = buf.getvalue()  # 0.4 s, 6400 frames, 44-byte header

    # Not audio at all.
    raw("broken/empty-0-bytes.wav", b"")
    expect["broken/empty-0-bytes.wav"] = Expect(r"^empty file \(0 bytes\)$")
    raw("broken/text.wav", b"this is text saved with a .wav name\n" * 20)
    expect["broken/text.wav"] = Expect(r"^not a decodable audio file")
    raw("broken/image.wav", _png_bytes())
    expect["broken/image.wav"] = Expect(r"^not a decodable audio file")
    # A header and no samples.
    raw("broken/header-only.wav", _patch_wav_sizes(canonical[:44], 0))
    expect["broken/header-only.wav"] = Expect(r"no audio samples")
    # Data chunk cut short: the header promises 0.4 s, 3000 frames are there.
    raw("broken/truncated-data.wav", canonical[: 44 + 2 * 3000])
    expect["broken/truncated-data.wav"] = Expect(check=_meta(duration=3000 / SR, sample_rate=SR, channels=1))
    # The header claims 700 s (over the limit) but the file holds 0.4 s: what is there is read.
    raw("broken/header-claims-700s.wav", _patch_wav_sizes(canonical, 700 * SR * 2))
    expect["broken/header-claims-700s.wav"] = Expect(check=_meta(duration=0.4))
    # The header claims 50 frames of the 6400 there: refused as too short (the header is believed).
    raw("broken/header-claims-50-frames.wav", _patch_wav_sizes(canonical, 100))
    expect["broken/header-claims-50-frames.wav"] = Expect(r"shorter than the 0\.1 s minimum")
    # AIFF data with a .wav name is decoded by its content.
    wav("formats/aiff-data.wav", _tone(), format="AIFF", subtype="PCM_16")
    expect["formats/aiff-data.wav"] = Expect(check=_sounds_like("formats/float32.wav", format="AIFF"))
    for rel, subtype in [
        ("formats/pcm_u8.wav", "PCM_U8"),
        ("formats/pcm_16.wav", "PCM_16"),
        ("formats/pcm_24.wav", "PCM_24"),
        ("formats/pcm_32.wav", "PCM_32"),
        ("formats/float32.wav", "FLOAT"),
        ("formats/float64.wav", "DOUBLE"),
    ]:
        wav(rel, _tone(), subtype=subtype)
        expect[rel] = Expect(check=_sounds_like("formats/float32.wav", format="WAV", duration=0.4))
    # Non-finite samples.
    y = _tone()
    y[1000] = np.nan
    wav("formats/nan-float32.wav", y, subtype="FLOAT")
    expect["formats/nan-float32.wav"] = Expect(r"^contains NaN or infinite sample values$")
    y = _tone()
    y[2000], y[2001] = np.inf, -np.inf
    wav("formats/inf-float64.wav", y, subtype="DOUBLE")
    expect["formats/inf-float64.wav"] = Expect(r"^contains NaN or infinite sample values$")
    # 1 to 8 identical channels downmix to the mono signal.
    for ch in range(1, 9):
        rel = f"channels/ch{ch}.wav"
        wav(rel, _tone(channels=ch), subtype="FLOAT")
        expect[rel] = Expect(check=_same_features_as("channels/ch1.wav", channels=ch))
    # 8 kHz to 192 kHz: resampled to 16 kHz, the tone's pitch and spectrum survive.
    for rate in (8_000, 11_025, 16_000, 22_050, 44_100, 48_000, 96_000, 192_000):
        rel = f"rates/sr{rate:06d}.wav"
        wav(rel, _tone(rate), rate, subtype="PCM_16")
        expect[rel] = Expect(check=_a_220_hz_tone(sample_rate=rate, duration=0.4))
    # Shorter than one FFT frame (1024 samples at 16 kHz): under the 0.1 s minimum.
    wav("short/shorter-than-a-frame.wav", _tone(duration=0.03))
    expect["short/shorter-than-a-frame.wav"] = Expect(r"^is 0\.030 s long, shorter than the 0\.1 s minimum$")
    # Pure digital silence, integer and float.
    wav("silence/zeros-pcm16.wav", np.zeros(SR), subtype="PCM_16")
    expect["silence/zeros-pcm16.wav"] = Expect(check=_silent)
    wav("silence/zeros-float.wav", np.zeros(SR), subtype="FLOAT")
    expect["silence/zeros-float.wav"] = Expect(check=_silent)
    # 700 s of low-level noise at 8 kHz: refused from its header, before decoding.
    if write:
        noise = np.random.default_rng(3).integers(-40, 40, size=700 * 8_000, dtype=np.int16)
        wav("long/700s-noise.wav", noise, 8_000, subtype="PCM_16")
    expect["long/700s-noise.wav"] = Expect(
        r"^is 700\.0 s long, over the 600 s limit \(raise it with --max-duration\)$"
    )
    # Names: spaces, unicode, leading formula characters, upper-case extension, no extension.
    for rel in [
        "names/with space.wav",
        "names/ünïcødé 声音.wav",
        "names/=cmd.wav",
        "names/+plus.wav",
        "names/-minus.wav",
        "names/@at.wav",
        "names/UPPER.WAV",
    ]:
        wav(rel, _tone(), subtype="PCM_16")
        expect[rel] = Expect(check=_sounds_like("formats/pcm_16.wav"))
    wav("names/no-extension", _tone(), subtype="PCM_16", format="WAV")
    expect["names/no-extension"] = Expect(check=_sounds_like("formats/pcm_16.wav"))
    # A folder named like a file: walked, its content found.
    wav("x.wav/inside-a-folder-named-x.wav", _tone(), subtype="PCM_16")
    expect["x.wav/inside-a-folder-named-x.wav"] = Expect(check=_sounds_like("formats/pcm_16.wav"))
    # chmod 000: unreadable, except for root (tests often run as root in CI), who reads it anyway;
    # test_unreadable_file_... covers root separately.
    locked = wav("perm/unreadable.wav", _tone(), subtype="PCM_16")
    if write:
        locked.chmod(0)
    if not write or os.access(locked, os.R_OK):
        expect["perm/unreadable.wav"] = Expect(check=_sounds_like("formats/pcm_16.wav"))
    else:
        expect["perm/unreadable.wav"] = Expect(r"(?i)permission denied")
    # Things that are not taken: a text file, macOS litter, a FIFO (opening it would block),
    # links (not followed by default; a loop, a link to itself, a dangling one), an empty folder.
    raw("README.txt", b"notes, not audio\n")
    raw(".DS_Store", b"\x00\x00\x00\x01Bud1")
    raw("._appledouble.wav", b"\x00\x05\x16\x07")
    if write:
        os.mkfifo(root / "fifo.wav")
        os.symlink(".", root / "loop")
        os.symlink("self-loop.wav", root / "self-loop.wav")
        os.symlink("nowhere.wav", root / "dangling.wav")
        os.symlink("formats/pcm_16.wav", root / "link-to-a-file-inside.wav")
        (root / "empty-folder").mkdir()
    ignored = [
        "README.txt",
        ".DS_Store",
        "._appledouble.wav",
        "fifo.wav",
        "loop",
        "self-loop.wav",
        "dangling.wav",
        "link-to-a-file-inside.wav",
        "empty-folder",
    ]
    return expect, ignored


#: Every file of the corpus that must be found, by relpath.
CASES = sorted(build_corpus(Path("/nonexistent"), write=False)[0])


@dataclasses.dataclass
class Runs:
    root: Path
    expect: dict[str, Expect]
    ignored: list[str]
    base: Path
    lib_store: Path
    lib_summary: Any
    cli_store: Path
    cli: subprocess.CompletedProcess
    predictions: pl.DataFrame
    cli_predict: Any
    csv_path: Path

    def path(self, rel: str) -> str:
        return str(self.root / rel)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    base = tmp_path_factory.mktemp("bad-input")
    root = base / "corpus"
    expect, ignored = build_corpus(root)
    lib_store = base / "store-lib"
    summary = featurize([root], lib_store, options=RunOptions(jobs=1))
    cli_store = base / "store-cli"
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "semo_batch",
            "featurize",
            str(root),
            "--store",
            str(cli_store),
            "--jobs",
            "2",
            "-q",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
    )
    predictions = predict_folders([root], default_model_dir(), options=RunOptions(jobs=1))
    csv_path = base / "predictions.csv"
    cli_predict = CliRunner().invoke(
        app,
        ["predict", str(root), "--model-dir", str(default_model_dir()), "-o", str(csv_path), "-j", "1", "-q",
         "--max-duration", "600"],
    )
    return Runs(
        root, expect, ignored, base, lib_store, summary, cli_store, cli, predictions, cli_predict, csv_path
    )


def _rows(store: Path) -> pl.DataFrame:
    return FeatureStore(store).scan(EMO).collect()


def _rows_by_relpath(store: Path) -> dict[str, Row]:
    return {r["relpath"]: r for r in _rows(store).iter_rows(named=True)}


def _failures(store: Path) -> dict[str, str]:
    df = FeatureStore(store).failures()
    return dict(zip(df["relpath"], df["reason"]))


def test_the_batch_completes_and_counts_add_up(runs: Runs) -> None:
    s = runs.lib_summary
    n_bad = sum(e.reason is not None for e in runs.expect.values())
    assert (s.found, s.done, s.failed, s.skipped, s.interrupted) == (
        len(runs.expect),
        len(runs.expect) - n_bad,
        n_bad,
        0,
        False,
    )
    assert sorted(f.relpath for f in discover([runs.root])) == sorted(runs.expect)


@pytest.mark.parametrize("rel", CASES)
def test_each_file_gives_a_row_or_a_one_line_failure(runs: Runs, rel: str) -> None:
    exp = runs.expect[rel]
    rows = _rows_by_relpath(runs.lib_store)
    fails = _failures(runs.lib_store)
    if exp.reason is None:
        assert rel not in fails, fails.get(rel)
        row = rows[rel]
        assert row["path"] == runs.path(rel)
        values = np.array([row[n] for n in FEATURES], dtype=np.float64)
        assert np.isfinite(values).all()
        if exp.check is not None:
            exp.check(row, rows)
    else:
        assert rel not in rows
        reason = fails[rel]
        assert "\n" not in reason and "\r" not in reason
        assert re.search(exp.reason, reason), reason
        # The summary (what the CLI prints) names the file with the same reason.
        assert (runs.path(rel), reason) in runs.lib_summary.failures
        assert str(AudioError(runs.path(rel), reason)) == f"{runs.path(rel)}: {reason}"


def test_nothing_else_is_a_row_or_a_failure(runs: Runs) -> None:
    found = set(_rows_by_relpath(runs.lib_store)) | set(_failures(runs.lib_store))
    assert found == set(runs.expect)
    for rel in runs.ignored:
        assert not any(f == rel or f.startswith(rel + "/") for f in found), rel
    # With links followed, the loop leads back to the root (walked once), the link to itself and the
    # dangling link lead nowhere, and only the link to a file inside adds a (second) path.
    followed = {f.relpath for f in discover([runs.root], follow_symlinks=True)}
    assert followed == set(runs.expect) | {"link-to-a-file-inside.wav"}


def test_failure_reasons_do_not_repeat_the_path(runs: Runs) -> None:
    """The store and the CLI name the file once: ``path: reason``, the reason without the path."""
    for rel, reason in _failures(runs.lib_store).items():
        assert runs.path(rel) not in reason, f"{rel}: {reason}"


def test_cli_featurize_with_two_workers_agrees_with_the_library(runs: Runs) -> None:
    cli = runs.cli
    assert cli.returncode == 3, cli.stderr  # some files failed
    assert "Traceback" not in cli.stderr
    lib_fails = _failures(runs.lib_store)
    assert _failures(runs.cli_store) == lib_fails
    a, b = _rows(runs.lib_store), _rows(runs.cli_store)
    assert a["relpath"].to_list() == b["relpath"].to_list()
    np.testing.assert_allclose(
        a.select(FEATURES).to_numpy(), b.select(FEATURES).to_numpy(), rtol=1e-5, atol=1e-4
    )
    # stdout: the summary; stderr: one line per failure (the first 10) naming the file, then a count.
    assert cli.stdout.splitlines()[0].startswith(
        f"{len(runs.expect)} files found: {len(runs.expect) - len(lib_fails)} featurized"
    )
    err = cli.stderr.splitlines()
    listed = [line for line in err if line.startswith("  failed: ")]
    assert len(listed) == min(10, len(lib_fails))
    for line in listed:
        path, reason = line[len("  failed: ") :].split(": ", 1)
        assert lib_fails[os.path.relpath(path, runs.root)] == reason
    more = (
        [f"  ... and {len(lib_fails) - 10} more (see {runs.cli_store / 'failures'})"]
        if len(lib_fails) > 10
        else []
    )
    assert err[len(listed) :] == more


def test_predict_gives_one_row_per_file(runs: Runs) -> None:
    df = runs.predictions
    assert df["path"].to_list() == sorted(runs.path(r) for r in runs.expect)
    labels = [c[2:] for c in df.columns if c.startswith("p_")]
    fails = _failures(runs.lib_store)
    for row in df.iter_rows(named=True):
        rel = os.path.relpath(row["path"], runs.root)
        exp = runs.expect[rel]
        if exp.reason is None:
            assert row["error"] == "", rel
            probs = np.array([row[f"p_{lab}"] for lab in labels])
            assert probs.sum() == pytest.approx(1.0) and (probs >= 0).all()
            assert row["emotion"] == labels[int(probs.argmax())]
            assert row["confidence"] == pytest.approx(probs.max())
        else:
            assert row["error"] == fails[rel], rel  # the same reason as featurize
            assert row["emotion"] is None and row["confidence"] is None
    # Identical audio gets identical predictions, whatever the file is called.
    same = df.filter(pl.col("path").str.contains("/names/") & (pl.col("error") == ""))
    assert same.height == 8 and same["emotion"].n_unique() == 1


def test_predict_cli_writes_a_safe_csv(runs: Runs) -> None:
    res = runs.cli_predict
    assert res.exit_code == 3, res.output  # some files failed
    n_bad = sum(e.reason is not None for e in runs.expect.values())
    # A file longer than 8 s is cut in segments, which the line counts too.
    assert re.search(rf"{len(runs.expect)} files, {len(runs.expect) - n_bad} predicted( \(\d+ segments\))?, "
                     rf"{n_bad} failed -> {re.escape(str(runs.csv_path))}$", res.stdout.strip()), res.stdout
    with open(runs.csv_path, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    header, body = table[0], table[1:]
    assert header == runs.predictions.columns
    assert [r[0] for r in body] == runs.predictions["path"].to_list()
    for r in body:
        for cell in r:
            assert not cell.startswith(FORMULA_START), cell
    err = header.index("error")
    errors = {os.path.relpath(r[0], runs.root): r[err] for r in body}
    assert errors["long/700s-noise.wav"].startswith("is 700.0 s long, over the 600 s limit")


# -- cases that need their own run ---------------------------------------------------------------


def test_long_file_is_processed_when_the_limit_is_raised(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    y = 0.01 * np.random.default_rng(5).standard_normal(8 * 8_000)
    sf.write(root / "long.wav", y, 8_000, subtype="PCM_16")
    store = tmp_path / "store"
    s = featurize([root], store, options=RunOptions(jobs=1, max_duration=5.0))
    assert (s.done, s.failed) == (0, 1)
    assert s.failures[0] == (
        str(root / "long.wav"),
        "is 8.0 s long, over the 5 s limit (raise it with --max-duration)",
    )
    s = featurize([root], store, options=RunOptions(jobs=1, max_duration=10.0))  # failures are retried
    assert (s.done, s.failed) == (1, 0)
    assert FeatureStore(store).failures().height == 0
    row = _rows(store).row(0, named=True)
    assert row["duration"] == pytest.approx(8.0) and row["sample_rate"] == 8_000
    # The CLI: a limit of 0 means none.
    res = CliRunner().invoke(
        app, ["featurize", str(root), "--store", str(tmp_path / "s2"), "-j", "1", "-q", "--max-duration", "0"]
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        app, ["featurize", str(root), "--store", str(tmp_path / "s3"), "-j", "1", "-q", "--max-duration", "2"]
    )
    assert res.exit_code == 3
    assert (
        f"failed: {root / 'long.wav'}: is 8.0 s long, over the 2 s limit (raise it with --max-duration)"
        in res.stderr
    )


def test_clips_shorter_than_one_frame_when_the_minimum_is_lifted(tmp_path: Path) -> None:
    """With no minimum duration, 1 sample to just under one FFT frame still gives finite features."""
    root = tmp_path / "in"
    lengths = (1, 2, 10, 500, EMO.n_fft - 1)
    for n in lengths:
        y = _tone(duration=1.0)[:n]
        root.mkdir(exist_ok=True)
        sf.write(root / f"n{n:05d}.wav", y, SR, subtype="FLOAT")
        sf.write(root / f"zeros{n:05d}.wav", np.zeros(n), SR, subtype="FLOAT")
    config = dataclasses.replace(EMO, min_duration=0.0)
    s = featurize([root], tmp_path / "store", feature_set=config, options=RunOptions(jobs=1))
    assert (s.done, s.failed) == (2 * len(lengths), 0), s.failures
    df = FeatureStore(tmp_path / "store").scan(config).collect()
    assert np.isfinite(df.select(FEATURES).to_numpy()).all()
    assert df["duration"].to_list() == pytest.approx([n / SR for n in lengths] * 2)  # n..., then zeros...


def test_non_utf8_file_name_is_a_recorded_failure_or_a_row(tmp_path: Path) -> None:
    """A name that is not valid UTF-8 (common on old Linux shares) must not kill the batch."""
    root = tmp_path / "in"
    root.mkdir()
    sf.write(root / "good.wav", _tone(), SR, subtype="PCM_16")
    bad_name = os.fsdecode(os.fsencode(str(root)) + b"/caf\xe9 latin-1.wav")
    shutil.copy(root / "good.wav", bad_name)
    s = featurize([root], tmp_path / "store", options=RunOptions(jobs=1))
    assert s.found == 2 and s.done + s.failed == 2
    rows = _rows(tmp_path / "store")
    assert str(root / "good.wav") in rows["path"].to_list()
    # predict too: one row per file, and a CSV that can be written.
    df = predict_folders([root], default_model_dir(), options=RunOptions(jobs=1))
    assert df.height == 2
    write_csv(df, tmp_path / "p.csv")
    assert len((tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()) == 3


def test_unreadable_file_is_a_failure_that_says_permission_denied(tmp_path: Path) -> None:
    """chmod 000.  Root reads it anyway; then the check runs without root's override capabilities."""
    root = tmp_path / "in"
    root.mkdir()
    sf.write(root / "good.wav", _tone(), SR, subtype="PCM_16")
    sf.write(root / "locked.wav", _tone(), SR, subtype="PCM_16")
    (root / "locked.wav").chmod(0)
    code = (
        "import sys; from semo_batch.featurize import featurize; from semo_batch.options import RunOptions\n"
        f"s = featurize([{str(root)!r}], {str(tmp_path / 'store')!r}, options=RunOptions(jobs=1))\n"
        "print(s.done, s.failed); print(s.failures[0][1] if s.failures else '')\n"
    )
    cmd = [sys.executable, "-c", code]
    if os.access(root / "locked.wav", os.R_OK):
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip(
                "running as root, chmod 000 does not stop reads, and there is no setpriv to drop the override"
            )
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *cmd]
        probe = subprocess.run(
            [
                *cmd[:3],
                sys.executable,
                "-c",
                f"import os; print(os.access({str(root / 'locked.wav')!r}, os.R_OK))",
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0 or probe.stdout.strip() != "False":
            pytest.skip(
                f"running as root and cannot drop CAP_DAC_OVERRIDE here ({probe.stderr.strip()[-200:]})"
            )
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    counts, reason = out.stdout.splitlines()[-2:]
    assert counts == "1 1"
    assert re.search(r"(?i)permission denied", reason), reason


def test_symlinks_out_of_the_tree_are_followed_only_when_asked(tmp_path: Path) -> None:
    inside, outside = tmp_path / "inside", tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    inside.mkdir()
    sf.write(inside / "real.wav", _tone(), SR, subtype="PCM_16")
    sf.write(outside / "out.wav", _tone(), SR, subtype="PCM_16")
    sf.write(outside / "dir" / "deep.wav", _tone(), SR, subtype="PCM_16")
    os.symlink(outside / "out.wav", inside / "to-out.wav")
    os.symlink(outside / "dir", inside / "to-dir")

    s = featurize([inside], tmp_path / "s1", options=RunOptions(jobs=1))
    assert (s.found, s.done) == (1, 1)
    assert _rows(tmp_path / "s1")["relpath"].to_list() == ["real.wav"]

    s = featurize([inside], tmp_path / "s2", options=RunOptions(jobs=1, follow_symlinks=True))
    assert (s.found, s.done, s.failed) == (3, 3, 0)
    rows = _rows(tmp_path / "s2")
    assert rows["relpath"].to_list() == ["real.wav", "to-dir/deep.wav", "to-out.wav"]
    # Paths stay under the input folder (not resolved through the link).
    assert rows["path"].to_list() == [str(inside / r) for r in rows["relpath"]]
    # The CLI flag does the same.
    res = CliRunner().invoke(
        app, ["featurize", str(inside), "--store", str(tmp_path / "s3"), "-j", "1", "-q", "--follow-symlinks"]
    )
    assert res.exit_code == 0, res.output
    assert _rows(tmp_path / "s3")["relpath"].to_list() == rows["relpath"].to_list()

    # A link up to the parent reaches outside/ twice over and inside/ again: each folder is walked once.
    os.symlink(tmp_path, inside / "to-parent")
    found = discover([inside], follow_symlinks=True)
    rel = [f.relpath for f in found]
    assert len(rel) == len(set(rel))
    assert not any(r.startswith("to-parent/inside/") for r in rel)
    targets = {os.path.realpath(f.path) for f in found}
    real = [inside / "real.wav", outside / "out.wav", outside / "dir" / "deep.wav"]
    assert targets == {os.path.realpath(p) for p in real}
    assert [f.relpath for f in discover([inside])] == ["real.wav"]


def test_empty_folder_finds_nothing_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    s = featurize([tmp_path / "empty"], tmp_path / "store", options=RunOptions(jobs=1))
    assert (s.found, s.done, s.failed) == (0, 0, 0)
    assert not (tmp_path / "store").exists()  # nothing to do: the store is not even created
    res = CliRunner().invoke(
        app, ["featurize", str(tmp_path / "empty"), "--store", str(tmp_path / "store"), "-q"]
    )
    assert res.exit_code == 4, res.output
    assert res.stdout == "" and "warning: no audio files in" in res.stderr
    df = predict_folders([tmp_path / "empty"], default_model_dir(), options=RunOptions(jobs=1))
    assert df.height == 0 and "error" in df.columns


def test_missing_folder_is_a_clear_error_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope: no such file or folder$"):
        featurize([tmp_path / "nope"], tmp_path / "store", options=RunOptions(jobs=1))
    assert not (tmp_path / "store").exists()
    with pytest.raises(ConfigError, match=r"nope: no such file or folder$"):
        predict_folders([tmp_path / "nope"], default_model_dir(), options=RunOptions(jobs=1))
