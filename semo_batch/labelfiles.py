"""Label files: a labels CSV for any corpus, and CREMA-D's listener votes."""

from __future__ import annotations

import csv
import os

from .errors import ConfigError
from .labels import EMOTION_SYNONYMS, EMOTIONS, FileLabel

__all__ = ["read_labels_csv", "read_crema_d_perceived"]

#: CREMA-D's listener votes (``perceived.csv``, ``voice_vote``) -> label.
_CREMA_VOTES = {"A": "angry", "D": "disgust", "F": "fearful", "H": "happy", "N": "neutral", "S": "sad"}


def read_crema_d_perceived(path: str | os.PathLike[str]) -> dict[str, str]:
    """What CREMA-D's listeners heard (audio only): file stem -> label, from its ``perceived.csv``
    (``file,voice_vote,voice_level``).  Files whose vote is tied between emotions (``A:N``)
    are left out.

    Raises:
        ConfigError: the file cannot be read or lacks those columns.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: cannot read CREMA-D listener votes ({type(exc).__name__}: {exc})") from None
    if rows and not {"file", "voice_vote"} <= set(rows[0]):
        raise ConfigError(f"{path}: expected the columns file,voice_vote[,voice_level] of CREMA-D's perceived.csv")
    return {r["file"]: _CREMA_VOTES[r["voice_vote"]] for r in rows if r.get("voice_vote") in _CREMA_VOTES}


_CSV_REQUIRED = ("path", "emotion")
_CSV_OPTIONAL = ("speaker", "corpus")
_CSV_HEADER = "path,emotion[,speaker][,corpus]"
_CSV_EMOTIONS = {**{e: e for e in EMOTIONS}, **EMOTION_SYNONYMS}


def read_labels_csv(path: str | os.PathLike[str]) -> dict[str, FileLabel]:
    """Labels of the files of any corpus, from a CSV with a header row.

    The header is ``path,emotion[,speaker][,corpus]`` (any order, any case).
    ``emotion`` is one of :data:`EMOTIONS` or a synonym in
    :data:`EMOTION_SYNONYMS` (any case); an empty cell leaves the file
    unlabelled (``emotion=None``).  An empty ``speaker`` is the file's parent
    folder and an empty ``corpus`` the CSV's stem; the speaker is qualified by
    the corpus (``"mycorpus:s01"``).  Sex is left ``None``.

    Args:
        path: the CSV file (UTF-8, with or without a byte-order mark).

    Returns:
        The labels keyed by absolute, normalized file path (relative paths are
        taken from the CSV's folder), in the CSV's order.

    Raises:
        ConfigError: one line naming the CSV: a missing file, a missing or
            unknown column, or (with its line number) an empty path, a path
            given twice, or an unknown emotion.
    """
    csv_path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(csv_path))
    default_corpus = os.path.splitext(os.path.basename(csv_path))[0]
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in _CSV_REQUIRED if c not in header]
            unknown = [c for c in header if c not in _CSV_REQUIRED + _CSV_OPTIONAL]
            if missing or unknown:
                what = (
                    f"missing column(s) {', '.join(missing)}"
                    if missing
                    else f"unknown column(s) {', '.join(unknown)}"
                )
                raise ConfigError(f"{csv_path}: {what}; expected a header row {_CSV_HEADER}")
            col = {name: header.index(name) for name in header}
            labels: dict[str, FileLabel] = {}
            first_line: dict[str, int] = {}
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                cells = {name: (row[i].strip() if i < len(row) else "") for name, i in col.items()}
                file, label = _csv_row(cells, folder, default_corpus, f"{csv_path}:{line}")
                if file in first_line:
                    raise ConfigError(
                        f"{csv_path}:{line}: {cells['path']} is labelled twice (also on line {first_line[file]})"
                    )
                labels[file] = label
                first_line[file] = line
    except FileNotFoundError:
        raise ConfigError(f"{csv_path}: no such labels file") from None
    except OSError as exc:
        raise ConfigError(f"{csv_path}: cannot read the labels file ({exc.strerror})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{csv_path}: not a readable CSV ({exc})") from None
    return labels


def _csv_row(cells: dict[str, str], folder: str, default_corpus: str, where: str) -> tuple[str, FileLabel]:
    """(absolute path, labels) of one CSV row; ``where`` is ``file:line`` for errors."""
    if not cells["path"]:
        raise ConfigError(f"{where}: empty path")
    file = os.path.normpath(os.path.join(folder, os.path.expanduser(cells["path"])))
    raw = cells["emotion"]
    emotion = _CSV_EMOTIONS.get(" ".join(raw.lower().split())) if raw else None
    if raw and emotion is None:
        raise ConfigError(
            f"{where}: unknown emotion {raw!r}; expected one of {', '.join(EMOTIONS)} "
            f"(or a synonym: {', '.join(EMOTION_SYNONYMS)}), or empty for unlabelled"
        )
    corpus = cells.get("corpus") or default_corpus
    speaker = cells.get("speaker") or os.path.basename(os.path.dirname(file))
    if not speaker.startswith(f"{corpus}:"):
        speaker = f"{corpus}:{speaker}"
    return file, FileLabel(corpus=corpus, speaker=speaker, emotion=emotion, corpus_emotion=raw or None)
