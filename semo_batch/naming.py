"""File-name schemes and the label vocabulary.

RAVDESS names its files ``MM-VV-EE-II-SS-RR-AA.ext`` (modality, vocal channel,
emotion, intensity, statement, repetition, actor).  :func:`parse_ravdess`
turns such a name into typed fields, or ``None`` for any other name.
"""

from __future__ import annotations

import re
from typing import TypedDict

__all__ = ["EMOTIONS", "RavdessFields", "RAVDESS_COLUMNS", "parse_ravdess"]

#: The 8 RAVDESS emotions, in the order of their codes 01..08.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)

_MODALITY = {1: "audio-video", 2: "video-only", 3: "audio-only"}
_VOCAL = {1: "speech", 2: "song"}
_INTENSITY = {1: "normal", 2: "strong"}
_STATEMENT = {1: "kids", 2: "dogs"}

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


class RavdessFields(TypedDict):
    modality: str
    vocal_channel: str
    emotion: str
    intensity: str
    statement: str
    repetition: int
    actor: int
    sex: str


#: Column names (in order) that :func:`parse_ravdess` fills; null when a name does not parse.
RAVDESS_COLUMNS: tuple[str, ...] = tuple(RavdessFields.__annotations__)


def parse_ravdess(name: str) -> RavdessFields | None:
    """Parse a RAVDESS file name (with or without extension, any case).

    Args:
        name: a file name such as ``03-01-05-02-01-01-12.wav``.

    Returns:
        The fields, with ``emotion`` as its label string and ``actor`` as an
        integer (odd actors are male), or ``None`` when the name is not a valid
        RAVDESS name (wrong shape or a code out of range).
    """
    stem = name.rsplit("/", 1)[-1]
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    m = _NAME.match(stem.strip())
    if m is None:
        return None
    mod, voc, emo, inten, stmt, rep, actor = (int(g) for g in m.groups())
    if (
        mod not in _MODALITY
        or voc not in _VOCAL
        or not 1 <= emo <= len(EMOTIONS)
        or inten not in _INTENSITY
        or stmt not in _STATEMENT
        or rep not in (1, 2)
        or not 1 <= actor <= 99
    ):
        return None
    return RavdessFields(
        modality=_MODALITY[mod],
        vocal_channel=_VOCAL[voc],
        emotion=EMOTIONS[emo - 1],
        intensity=_INTENSITY[inten],
        statement=_STATEMENT[stmt],
        repetition=rep,
        actor=actor,
        sex="male" if actor % 2 else "female",
    )
