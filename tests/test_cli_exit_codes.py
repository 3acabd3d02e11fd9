"""Exit codes of the CLI: 0 done, 1 runtime errors (and --strict), 2 usage or unusable input, 3 some files
failed, 4 no audio found.

Errors are one line on stderr (``semo-batch: error: ...``), never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from conftest import harmonic_tone
from typer.testing import CliRunner, Result

from semo_batch.cli import app
from semo_batch.console import EXIT_EMPTY, EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from semo_batch.resources import default_model_dir

MODEL = str(default_model_dir())


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``good``: two clips; ``mixed``: a clip and a text file named .wav; ``empty``; a plain ``file``."""
    base = tmp_path_factory.mktemp("cli")
    y = 0.5 * harmonic_tone(180.0, sr=16_000, duration=0.5)
    for name in ("good", "mixed", "empty"):
        (base / name).mkdir()
    sf.write(base / "good" / "a.wav", y, 16_000, subtype="PCM_16")
    sf.write(base / "good" / "b.wav", y[::-1].copy(), 16_000, subtype="PCM_16")
    sf.write(base / "mixed" / "a.wav", y, 16_000, subtype="PCM_16")
    (base / "mixed" / "notes.wav").write_text("not audio\n")
    (base / "file.wav").write_bytes((base / "good" / "a.wav").read_bytes())
    return {
        "base": base,
        "good": base / "good",
        "mixed": base / "mixed",
        "empty": base / "empty",
        "file": base / "file.wav",
    }


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_exit(res: Result, code: int) -> None:
    assert res.exit_code == code, (res.exit_code, res.output, res.exception)
    # A clean exit (typer.Exit / click usage error), not an exception escaping the CLI.
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


def assert_one_error_line(res: Result, *fragments: str) -> str:
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("semo-batch: error: "), res.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


# -- featurize -----------------------------------------------------------------------------------


def test_featurize_all_done_is_0_and_a_rerun_too(folders, tmp_path):
    res = invoke("featurize", folders["good"], "--store", tmp_path / "s", "-j", "1", "-q")
    assert_exit(res, EXIT_OK)
    assert (
        res.stdout.splitlines()[0]
        == "2 files found: 2 featurized, 0 skipped (already in the store), 0 failed"
    )
    assert res.stderr == ""
    res = invoke("featurize", folders["good"], "--store", tmp_path / "s", "-j", "1", "-q")
    assert_exit(res, EXIT_OK)
    assert res.stdout.startswith("2 files found: 0 featurized, 2 skipped")


def test_featurize_some_failed_is_3(folders, tmp_path):
    res = invoke("featurize", folders["mixed"], "--store", tmp_path / "s", "-j", "1", "-q")
    assert_exit(res, EXIT_PARTIAL)
    assert (
        res.stdout.splitlines()[0]
        == "2 files found: 1 featurized, 0 skipped (already in the store), 1 failed"
    )
    assert f"failures recorded under {tmp_path / 's' / 'failures'}" in res.stdout
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"  failed: {folders['mixed'] / 'notes.wav'}: not a decodable audio file"
    )
    # Failures are retried on the next run, and still fail: 3 again.
    assert_exit(
        invoke("featurize", folders["mixed"], "--store", tmp_path / "s", "-j", "1", "-q"), EXIT_PARTIAL
    )


def test_featurize_strict_turns_a_failure_into_1(folders, tmp_path):
    res = invoke("featurize", folders["mixed"], "--store", tmp_path / "s", "-j", "1", "-q", "--strict")
    assert_exit(res, EXIT_ERROR)
    assert_one_error_line(res, str(folders["mixed"] / "notes.wav"), "not a decodable audio file")
    # --strict on a clean folder is still 0.
    assert_exit(
        invoke("featurize", folders["good"], "--store", tmp_path / "s2", "-j", "1", "-q", "--strict"), EXIT_OK
    )


def test_featurize_and_predict_on_an_empty_folder_say_so_and_exit_4(folders, tmp_path):
    res = invoke("featurize", folders["empty"], "--store", tmp_path / "s", "-q")
    assert_exit(res, EXIT_EMPTY)
    assert res.stdout == ""
    assert res.stderr == f"semo-batch: warning: no audio files in {folders['empty']}; nothing to do\n"
    res = invoke("predict", folders["empty"], "--model-dir", MODEL, "-o", tmp_path / "p.csv", "-q")
    assert_exit(res, EXIT_EMPTY)
    assert res.stderr == f"semo-batch: warning: no audio files in {folders['empty']}; nothing to do\n"
    assert not (tmp_path / "p.csv").exists()


def test_featurize_and_predict_take_single_files_too(folders, tmp_path):
    res = invoke("featurize", folders["file"], folders["good"] / "a.wav", "--store", tmp_path / "s", "-q")
    assert_exit(res, EXIT_OK)
    assert res.stdout.startswith("2 files found: 2 featurized")
    out = tmp_path / "p.csv"
    res = invoke("predict", folders["file"], folders["mixed"] / "notes.wav", "--model-dir", MODEL, "-o", out, "-q")
    assert_exit(res, EXIT_PARTIAL)  # a file named on its own is taken whatever it holds; this one fails
    assert res.stdout.strip() == f"2 files, 1 predicted, 1 failed -> {out}"
    assert res.stderr.splitlines()[0].startswith(f"  failed: {folders['mixed'] / 'notes.wav'}: ")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["{missing}"], "nope: no such file or folder"),
        (["{good}", "{missing}"], "nope: no such file or folder"),  # checked before any work, even after a good folder
    ],
    ids=["missing", "good-then-missing"],
)
def test_featurize_bad_folder_is_2_before_any_work(folders, tmp_path, args, fragment):
    paths = {"missing": tmp_path / "nope", "file": folders["file"], "good": folders["good"]}
    argv = [a.format(**paths) for a in args]
    res = invoke("featurize", *argv, "--store", tmp_path / "s", "-j", "1", "-q")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, fragment)
    assert not (tmp_path / "s").exists()  # nothing was written, not even the store folder


@pytest.mark.parametrize(
    "extra",
    [
        ["--jobs", "abc"],
        ["--feature-set", "egemaps"],
        ["--backend", "spark"],
        ["--bogus"],
        ["--max-duration", "ten"],
        ["--max-duration", "-5"],
        ["--max-duration", "nan"],
    ],
    ids=[
        "jobs-abc",
        "feature-set",
        "backend",
        "unknown-option",
        "max-duration-ten",
        "max-duration-negative",
        "max-duration-nan",
    ],
)
def test_featurize_bad_option_is_2(folders, tmp_path, extra):
    res = invoke("featurize", folders["good"], "--store", tmp_path / "s", "-j", "1", "-q", *extra)
    assert_exit(res, EXIT_USAGE)
    assert not (tmp_path / "s" / "features").exists() and not (tmp_path / "s" / "failures").exists()


def test_no_arguments_and_unknown_command_are_2():
    assert_exit(invoke("featurize"), EXIT_USAGE)
    assert_exit(invoke("predict"), EXIT_USAGE)
    assert_exit(invoke("frobnicate"), EXIT_USAGE)


# -- predict -------------------------------------------------------------------------------------


def test_predict_all_done_is_0(folders, tmp_path):
    out = tmp_path / "p.csv"
    res = invoke("predict", folders["good"], "--model-dir", MODEL, "-o", out, "-j", "1", "-q")
    assert_exit(res, EXIT_OK)
    assert res.stdout.strip() == f"2 files, 2 predicted, 0 failed -> {out}"
    assert len(out.read_text().splitlines()) == 3


def test_predict_some_failed_is_3_and_strict_is_1(folders, tmp_path):
    out = tmp_path / "p.csv"
    res = invoke("predict", folders["mixed"], "--model-dir", MODEL, "-o", out, "-j", "1", "-q")
    assert_exit(res, EXIT_PARTIAL)
    assert res.stdout.strip() == f"2 files, 1 predicted, 1 failed -> {out}"
    out.unlink()
    res = invoke("predict", folders["mixed"], "--model-dir", MODEL, "-o", out, "-j", "1", "-q", "--strict")
    assert_exit(res, EXIT_ERROR)
    assert out.is_file()  # the CSV is still written, with the reason in the error column


def test_predict_usage_errors_are_2(folders, tmp_path):
    out = tmp_path / "p.csv"
    res = invoke("predict", tmp_path / "nope", "--model-dir", MODEL, "-o", out, "-j", "1", "-q")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "nope: no such file or folder")
    # The bundled model was trained without speaker normalization.
    res = invoke(
        "predict",
        folders["good"],
        "--model-dir",
        MODEL,
        "-o",
        out,
        "-j",
        "1",
        "-q",
        "--normalize-by",
        "actor",
    )
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "without speaker normalization")
    assert_exit(
        invoke("predict", folders["good"], "--model-dir", MODEL, "--normalize-by", "speaker"), EXIT_USAGE
    )
    res = invoke(
        "predict", folders["good"], "--model-dir", MODEL, "-o", out, "-j", "1", "-q", "--max-duration", "-1"
    )
    assert_exit(res, EXIT_USAGE)
    assert not out.exists()


def test_a_missing_model_is_2_and_inputs_are_checked_first(folders, tmp_path):
    res = invoke(
        "predict", folders["good"], "--model-dir", tmp_path / "no-model", "-o", tmp_path / "p.csv", "-q"
    )
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "no-model: not a model directory")
    # A missing input is named before the model folder is even looked at.
    res = invoke("predict", tmp_path / "nope", "--model-dir", tmp_path / "no-model", "-o", tmp_path / "p.csv")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "nope: no such file or folder")
    assert res.stdout == ""


def test_missing_or_unusable_inputs_are_2(folders, tmp_path):
    res = invoke("train", "--store", tmp_path / "no-store", "--model-dir", tmp_path / "m")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "no-store")
    res = invoke("info", "--store", tmp_path / "no-store")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "no such store")
    res = invoke("info", "--store", folders["good"])  # a folder, but not a store
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, str(folders["good"]))
    res = invoke("inspect", tmp_path / "nope.wav", "-o", tmp_path / "i.png")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "nope.wav: no such file")
    res = invoke("inspect", folders["mixed"] / "notes.wav", "-o", tmp_path / "i.png")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "notes.wav")
    assert not (tmp_path / "i.png").exists()


def test_exit_codes_reach_the_shell(folders, tmp_path):
    """Through the real entry point, in a subprocess: 2 for a missing folder, 3 for a failed file."""
    cmd = [sys.executable, "-m", "semo_batch", "featurize"]
    r = subprocess.run(
        [*cmd, str(tmp_path / "nope"), "--store", str(tmp_path / "s"), "-q"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        r.returncode == EXIT_USAGE
        and r.stderr == f"semo-batch: error: {tmp_path / 'nope'}: no such file or folder\n"
    )
    r = subprocess.run(
        [*cmd, str(folders["mixed"]), "--store", str(tmp_path / "s"), "-q", "-j", "1"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == EXIT_PARTIAL, r.stderr
    assert "Traceback" not in r.stderr


# -- the learning side and the store ---------------------------------------------------------------
@pytest.fixture(scope="module")
def learning_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from learning_data import write_store

    path = tmp_path_factory.mktemp("cli-learning") / "store"
    write_store(path, n_actors=10)
    return path


def test_train_and_evaluate_print_the_same_held_out_figure(learning_store: Path, tmp_path: Path) -> None:
    model = tmp_path / "m"
    res = invoke("train", "--store", learning_store, "--model-dir", model, "--model", "logreg", "--split", "random")
    assert_exit(res, EXIT_OK)
    trained = next(line for line in res.stdout.splitlines() if line.startswith("accuracy "))
    res = invoke("evaluate", "--store", learning_store, "--model-dir", model)
    assert_exit(res, EXIT_OK)
    first, scores = res.stdout.splitlines()[:2]
    assert "32 held-out rows (128 training rows left out)" in first and scores == trained
    assert res.stderr == ""
    res = invoke("evaluate", "--store", learning_store, "--model-dir", model, "--include-training")
    assert_exit(res, EXIT_OK)
    assert "warning: 128 of the 160 rows scored were used to train this model" in res.stderr


def test_evaluate_with_nothing_held_out_is_one_line(learning_store: Path, tmp_path: Path) -> None:
    assert_exit(invoke("train", "--store", learning_store, "--model-dir", tmp_path / "m", "--model", "logreg",
                       "--split", "none"), EXIT_OK)
    res = invoke("evaluate", "--store", learning_store, "--model-dir", tmp_path / "m")
    assert_exit(res, EXIT_USAGE)  # this store and this model leave nothing to score: unusable input
    assert_one_error_line(res, "nothing is held out")


def test_evaluate_cv_progress_and_no_spread_for_one_split(learning_store: Path) -> None:
    res = invoke("evaluate", "--store", learning_store, "--cv", "holdout", "--model", "logreg")
    assert_exit(res, EXIT_OK)
    assert "±" not in res.stdout and "evaluate --cv: 1/1 folds" in res.stderr
    assert any(line.strip().startswith("surprised") for line in res.stdout.splitlines())


def test_output_paths_are_checked_before_any_work(folders: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    res = invoke("predict", folders["good"], "-o", blocker / "x.csv", "-j", "1")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "blocker/x.csv", "is a file, not a folder")
    res = invoke("predict", folders["good"], "-o", tmp_path, "-j", "1")
    assert_exit(res, EXIT_USAGE)
    assert_one_error_line(res, "is a folder")


def test_a_damaged_chunk_is_set_aside_with_one_warning_line(learning_store: Path, tmp_path: Path) -> None:
    import shutil

    store = tmp_path / "store"
    shutil.copytree(learning_store, store)
    chunk = next((store / "features").glob("*/*.parquet"))
    chunk.write_bytes(chunk.read_bytes()[:100])
    res = invoke("info", "--store", store)
    assert_exit(res, EXIT_OK)
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("semo-batch: warning: ") and chunk.name in lines[0], res.stderr
    assert "1 damaged chunk set aside in" in res.stdout
    assert (store / "quarantine" / chunk.relative_to(store)).is_file() and not chunk.exists()
    res = invoke("info", "--store", store)  # set aside once: no warning the second time
    assert_exit(res, EXIT_OK)
    assert res.stderr == ""


def test_info_lists_files_and_chunks(learning_store: Path) -> None:
    res = invoke("info", "--store", learning_store)
    assert_exit(res, EXIT_OK)
    assert "160 files in 1 chunk " in res.stdout and "0 files with a recorded failure" in res.stdout


def test_a_full_disk_stops_featurize_with_one_line_and_exit_1(folders, tmp_path, monkeypatch):
    import errno

    import semo_batch.store

    def full(table, final):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(semo_batch.store, "write_chunk", full)
    res = invoke("featurize", folders["good"], "--store", tmp_path / "s", "-j", "1", "-q")
    assert_exit(res, EXIT_ERROR)
    assert_one_error_line(res, f"{tmp_path / 's'}: no space left on device", "run the same command to resume")
    monkeypatch.undo()
    assert_exit(invoke("featurize", folders["good"], "--store", tmp_path / "s", "-j", "1", "-q"), EXIT_OK)


def test_compact_drops_superseded_rows(folders, tmp_path):
    import os

    store = tmp_path / "s"
    assert_exit(invoke("featurize", folders["good"], "--store", store, "-j", "1", "-q"), EXIT_OK)
    clip = folders["good"] / "a.wav"
    st = clip.stat()
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # newer: featurized again, the old row superseded
    try:
        assert_exit(invoke("featurize", folders["good"], "--store", store, "-j", "1", "-q"), EXIT_OK)
        assert "1 superseded rows" in invoke("info", "--store", store).stdout
        res = invoke("compact", "--store", store)
        assert_exit(res, EXIT_OK)
        assert "1 superseded rows dropped" in res.stdout
        assert "0 superseded rows" in invoke("info", "--store", store).stdout
    finally:
        os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))  # the module's folders are shared
    assert_exit(invoke("compact", "--store", tmp_path / "nope"), EXIT_USAGE)


def test_the_program_freezes_what_is_left_for_a_quick_exit_and_a_call_from_python_does_not(
        folders: dict[str, Path]) -> None:
    """Run as a program, the command freezes the objects alive at its end, so the interpreter's
    last collections skip them; called from Python (a test, a notebook) it leaves the GC alone."""
    import gc

    before = gc.get_freeze_count()
    assert invoke("info", "--store", str(folders["base"] / "no-store")).exit_code == EXIT_USAGE
    assert invoke("--help").exit_code == EXIT_OK
    assert gc.get_freeze_count() == before
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
            "sys.argv = ['semo-batch', '--version']\n"
            "from semo_batch.cli import app\napp()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == EXIT_OK and out.stdout.endswith("frozen True\n"), out.stdout + out.stderr
