"""Walking folders: which files are audio, in a stable order.

Files whose extension libsndfile handles are always taken (a broken one is
then recorded as a failure, not silently ignored); any other regular file is
taken only when libsndfile recognises its header, so ``.dat`` or extension-less
recordings are found while READMEs and images are not.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import soundfile as sf

from .errors import ConfigError

__all__ = ["AudioFile", "AUDIO_EXTENSIONS", "discover", "check_roots", "printable_path"]

#: Extensions taken without probing (lower case, no dot).
AUDIO_EXTENSIONS = frozenset(
    {"wav", "wave", "flac", "ogg", "oga", "opus", "aif", "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
     "mp3", "mat", "sd2", "voc", "wv", "htk", "sds", "avr", "pvf", "xi", "nist", "sph", "irc", "paf", "svx"}
)
_SKIP_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclasses.dataclass(frozen=True, order=True)
class AudioFile:
    """A file found under one of the input folders.

    Attributes:
        path: absolute path (not resolved through symlinks, so it stays inside ``root``).
        root: the absolute input folder it was found under.
        relpath: ``path`` relative to ``root``, with ``/`` separators.
    """

    path: str
    root: str
    relpath: str


def printable_path(path: str) -> str:
    """``path`` as valid UTF-8 text for outputs: bytes that are not UTF-8 (which Python
    keeps as surrogate escapes) are shown as ``\\xNN``; other paths are unchanged."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_roots(roots: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Absolute, normalized inputs (folders, or files named one by one), checked before any work starts.

    Raises:
        ConfigError: when an input does not exist, or none is given.
    """
    out = []
    for r in roots:
        p = Path(r).expanduser()
        if not p.exists():
            raise ConfigError(f"{p}: no such file or folder")
        # Lexically normalized ("a/../b" -> "b", as os.path.abspath does), so that one file
        # reached through two spellings of its folder is one path, one row, one skip.
        out.append(Path(os.path.abspath(p)))
    if not out:
        raise ConfigError("no input folder or file given")
    return out


def _looks_like_audio(path: str) -> bool:
    try:
        sf.info(path)
    except Exception:
        return False
    return True


def _walk(root: Path, follow_symlinks: bool) -> Iterator[str]:
    seen: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        d = stack.pop()
        try:
            st = os.stat(d)
            key = (st.st_dev, st.st_ino)
            if key in seen:  # a symlink loop, or the same folder twice
                continue
            seen.add(key)
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if e.name in _SKIP_NAMES or e.name.startswith("._"):
                continue
            try:
                if e.is_dir(follow_symlinks=follow_symlinks):
                    stack.append(e.path)
                elif e.is_file(follow_symlinks=follow_symlinks):
                    yield e.path
                elif not e.is_symlink():
                    continue
            except OSError:
                continue


def discover(roots: Iterable[str | os.PathLike[str]], *, follow_symlinks: bool = False) -> list[AudioFile]:
    """Every audio file under ``roots``, sorted by path, each listed once.

    Args:
        roots: input folders, or single files (taken whatever their name); each must exist.
        follow_symlinks: follow links to files and folders; off by default, so the
            walk never leaves the trees it was given.

    Raises:
        ConfigError: for a missing input (before any work).
    """
    found: dict[str, AudioFile] = {}
    for root in check_roots(roots):
        if not root.is_dir():  # a file named on its own is taken as it is: if it does not decode, it fails
            found.setdefault(str(root), AudioFile(path=str(root), root=str(root.parent), relpath=root.name))
            continue
        for path in _walk(root, follow_symlinks):
            if path in found:
                continue
            ext = os.path.splitext(path)[1].lower().lstrip(".")
            if ext not in AUDIO_EXTENSIONS and not _looks_like_audio(path):
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            found[path] = AudioFile(path=path, root=str(root), relpath=rel)
    return sorted(found.values())
