from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from semo_batch.discover import AudioFile, check_roots, discover
from semo_batch.errors import ConfigError
from semo_batch.naming import parse_ravdess

_Y = np.zeros(160, np.float32)


@pytest.fixture
def tree(tmp_path, write_wav) -> Path:
    write_wav("in/b.wav", _Y, 16_000)
    write_wav("in/A.WAV", _Y, 16_000)
    write_wav("in/sub/c.flac", _Y, 16_000)
    write_wav("in/sub/deeper/d e.wav", _Y, 16_000)
    write_wav("in/sub/no_extension", _Y, 16_000, format="WAV")  # found by its header
    write_wav("in/take.dat", _Y, 16_000, format="WAV")
    (tmp_path / "in" / "README.txt").write_text("not audio\n")
    (tmp_path / "in" / "notes.md").write_text("# not audio\n")
    (tmp_path / "in" / "broken.wav").write_text("taken by its extension, fails later\n")
    (tmp_path / "in" / ".DS_Store").write_bytes(b"\0" * 64)
    (tmp_path / "in" / "._b.wav").write_bytes(b"\0" * 64)  # macOS resource fork
    return tmp_path / "in"


def _rel(files: list[AudioFile]) -> list[str]:
    return [f.relpath for f in files]


def test_finds_audio_by_extension_and_by_header(tree):
    files = discover([tree])
    assert _rel(files) == [
        "A.WAV",
        "b.wav",
        "broken.wav",
        "sub/c.flac",
        "sub/deeper/d e.wav",
        "sub/no_extension",
        "take.dat",
    ]


def test_paths_roots_and_relpaths(tree):
    for f in discover([tree]):
        assert os.path.isabs(f.path)
        assert f.root == str(tree.absolute())
        assert Path(f.path) == Path(f.root) / f.relpath
        assert "\\" not in f.relpath


def test_relative_root_gives_absolute_paths(tree, monkeypatch):
    monkeypatch.chdir(tree.parent)
    files = discover(["in"])
    assert files == discover([tree])
    assert files[0].root == str(tree)


def test_order_is_sorted_and_stable(tree, write_wav):
    files = discover([tree])
    assert [f.path for f in files] == sorted(f.path for f in files)
    # Creation order does not matter: add a file that sorts first.
    write_wav("in/0first.wav", _Y, 16_000)
    again = discover([tree])
    assert again[0].relpath == "0first.wav"
    assert again[1:] == files


def test_each_file_once_with_overlapping_roots(tree):
    files = discover([tree, tree / "sub", tree])
    paths = [f.path for f in files]
    assert len(paths) == len(set(paths)) == 7
    # The first root that finds a file names it.
    assert {f.root for f in files} == {str(tree)}


def test_a_missing_input_is_a_config_error_and_a_file_is_taken_as_named(tmp_path):
    with pytest.raises(ConfigError, match="nope: no such file or folder"):
        discover([tmp_path / "nope"])
    f = tmp_path / "notes.txt"  # not audio by name or content: still taken, since it was named
    f.write_bytes(b"")
    (found,) = discover([f, tmp_path / "notes.txt"])
    assert (found.path, found.root, found.relpath) == (str(f), str(tmp_path), "notes.txt")
    assert discover([tmp_path]) == []  # walking the folder, the same file is not audio
    with pytest.raises(ConfigError, match="no input folder or file"):
        check_roots([])


def test_missing_folder_is_caught_before_any_walk(tree, tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path / "nope")):
        discover([tree, tmp_path / "nope"])


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert discover([tmp_path / "empty"]) == []


def _discover_in_subprocess(root: Path, follow: bool, timeout: float = 20.0) -> list[str]:
    code = textwrap.dedent(
        f"""
        from semo_batch.discover import discover
        for f in discover([{str(root)!r}], follow_symlinks={follow}):
            print(f.relpath)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=True
    )
    return out.stdout.splitlines()


def test_symlink_loop_does_not_hang(tree):
    os.symlink(tree, tree / "sub" / "loop")  # sub/loop -> the root
    os.symlink("..", tree / "sub" / "deeper" / "up")  # deeper/up -> sub
    expected = _rel(discover([tree]))
    # A hang would time out the subprocess rather than the test run.
    assert _discover_in_subprocess(tree, follow=False) == expected
    assert _discover_in_subprocess(tree, follow=True) == expected


def test_links_out_of_the_tree_are_not_followed_by_default(tmp_path, tree, write_wav):
    write_wav("outside/x.wav", _Y, 16_000)
    write_wav("outside/y.wav", _Y, 16_000)
    os.symlink(tmp_path / "outside", tree / "linked_dir")
    os.symlink(tmp_path / "outside" / "y.wav", tree / "linked.wav")
    os.symlink(tmp_path / "missing.wav", tree / "dangling.wav")
    base = _rel(discover([tree]))
    assert not any(r.startswith("linked") or r == "dangling.wav" for r in base)
    followed = _rel(discover([tree], follow_symlinks=True))
    assert sorted(set(followed) - set(base)) == ["linked.wav", "linked_dir/x.wav", "linked_dir/y.wav"]
    # Followed paths stay under the root they were found in (not resolved through the link).
    assert all(f.path.startswith(str(tree)) for f in discover([tree], follow_symlinks=True))


@pytest.mark.ravdess
def test_ravdess_copy(ravdess_dir):
    files = discover([ravdess_dir])
    assert len(files) == 1200  # README.md and to_wav.py are left out
    fields = [parse_ravdess(Path(f.path).name) for f in files]
    assert all(f is not None and f["vocal_channel"] == "speech" for f in fields)
    assert sorted({f["actor"] for f in fields}) == list(range(1, 21))
    counts = Counter(f["emotion"] for f in fields)
    assert counts.pop("neutral") == 80
    assert set(counts.values()) == {160}


def test_one_folder_spelled_two_ways_gives_the_same_paths(tmp_path, monkeypatch):
    from semo_batch.discover import discover

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sf.write(tmp_path / "b" / "x.wav", np.zeros(1600, np.float32), 16_000)
    monkeypatch.chdir(tmp_path / "a")
    direct = discover([tmp_path / "b"])
    roundabout = discover(["../b"])
    assert [f.path for f in roundabout] == [f.path for f in direct] == [str(tmp_path / "b" / "x.wav")]
    assert roundabout[0].root == str(tmp_path / "b")
