"""File-name schemes: what a file's name says about its recording.

The vocabulary (:data:`EMOTIONS`, :class:`FileLabel`, :class:`Scheme`) lives in
:mod:`semo_batch.labels` and the label files (a labels CSV, CREMA-D's listener
votes) in :mod:`semo_batch.labelfiles`; this module re-exports both, so that
``semo_batch.naming`` is the one place to import labels from.

Every labelled file becomes a :class:`FileLabel`: the corpus, a corpus-qualified
speaker (``"ravdess:12"``, ``"crema-d:1001"``, ``"tess:OAF"``, ``"emodb:03"``,
``"savee:DC"``, so speakers of different corpora never collide), the emotion as
one of :data:`EMOTIONS` (or ``None`` where the corpus's emotion has no
counterpart), and the speaker's sex where the corpus documents it.

:func:`parse_name` reads a file's path under one :class:`Scheme`, or under each
in turn (``auto``); :func:`read_labels_csv` labels the files of any other corpus
from a CSV.  Nothing here touches a file except :func:`read_labels_csv`.

The schemes, and how each corpus's emotions map onto ours:

=========  ==================================  ========================================
scheme     file name (fields)                  corpus code -> label
=========  ==================================  ========================================
ravdess    ``03-01-05-02-01-01-12.wav``        01 neutral, 02 calm, 03 happy, 04 sad,
           (modality-channel-emotion-          05 angry, 06 fearful, 07 disgust,
           intensity-statement-rep-actor)      08 surprised; odd actors male
crema-d    ``1001_DFA_ANG_XX.wav``             ANG angry, DIS disgust, FEA fearful,
           (actor_sentence_emotion_level)      HAP happy, NEU neutral, SAD sad;
                                               sex not in the name
tess       ``OAF_back_angry.wav``              angry, disgust, fear -> fearful, happy,
           (speaker_word_emotion, any case)    neutral, ps (pleasant surprise) ->
                                               surprised, sad; OAF, YAF both female
emodb      ``03a01Fa.wav``                     W (Ärger) angry, L (Langeweile, boredom)
           (speaker text emotion version)      None, E (Ekel) disgust, A (Angst)
                                               fearful, F (Freude) happy, T (Trauer)
                                               sad, N neutral; male 03 10 11 12 15,
                                               female 08 09 13 14 16
savee      ``DC_a01.wav`` or ``DC/a01.wav``    a angry, d disgust, f fearful, h happy,
           (speaker_emotion number)            n neutral, sa sad, su surprised;
                                               DC JE JK KL all male
csv        any name, from a labels CSV         a label or a synonym
           (:func:`read_labels_csv`)           (:data:`EMOTION_SYNONYMS`)
=========  ==================================  ========================================

No corpus other than RAVDESS has ``calm``; EmoDB's boredom is the one emotion
without a counterpart, so its files are kept with ``emotion=None`` (unlabelled)
rather than forced onto a label they do not mean.

The name patterns cannot be mistaken for one another (RAVDESS is seven dashed
2-digit codes, CREMA-D starts with four digits and ``_``, TESS with ``OAF_`` or
``YAF_``, EmoDB is two digits glued to a text code, SAVEE starts with its
speaker's code or sits in a folder named after it), so ``auto`` takes the first
scheme that parses.

RAVDESS names also have the older interface :func:`parse_ravdess`, which
returns every field of the name (:class:`RavdessFields`, the store's columns).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TypedDict

from .errors import ConfigError
from .labelfiles import read_crema_d_perceived, read_labels_csv
from .labels import EMOTION_SYNONYMS, EMOTIONS, SCHEMES, FileLabel, Scheme

__all__ = [
    "EMOTIONS",
    "EMOTION_SYNONYMS",
    "RavdessFields",
    "RAVDESS_COLUMNS",
    "parse_ravdess",
    "read_crema_d_perceived",
    "FileLabel",
    "Scheme",
    "SCHEMES",
    "parse_name",
    "read_labels_csv",
]


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




def _split(path: str) -> tuple[str, str]:
    """(stem, parent folder name) of ``path``; ``/`` and ``\\`` both separate."""
    parts = re.split(r"[/\\]", path.strip())
    name = parts[-1]
    parent = parts[-2] if len(parts) > 1 else ""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem, parent


def _parse_ravdess(path: str) -> FileLabel | None:
    f = parse_ravdess(_split(path)[0])
    if f is None:
        return None
    return FileLabel(
        corpus=Scheme.RAVDESS.value,
        speaker=f"ravdess:{f['actor']:02d}",
        emotion=f["emotion"],
        sex=f["sex"],
        corpus_emotion=f"{EMOTIONS.index(f['emotion']) + 1:02d}",
        text=f["statement"],
    )


_CREMA_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_(LO|MD|HI|XX)$")
_CREMA_SENTENCES = frozenset("DFA IEO IOM ITH ITS IWL IWW MTI TAI TIE TSI WSI".split())
_CREMA_EMOTIONS = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}


def _parse_crema_d(path: str) -> FileLabel | None:
    m = _CREMA_NAME.match(_split(path)[0])
    if m is None:
        return None
    actor, sentence, emotion, _level = m.groups()
    if not 1001 <= int(actor) <= 1091 or sentence not in _CREMA_SENTENCES or emotion not in _CREMA_EMOTIONS:
        return None
    # CREMA-D keeps the actors' sex in VideoDemographics.csv, not in the name.
    return FileLabel(
        corpus=Scheme.CREMA_D.value,
        speaker=f"crema-d:{actor}",
        emotion=_CREMA_EMOTIONS[emotion],
        corpus_emotion=emotion,
        text=sentence,
    )



_TESS_NAME = re.compile(r"^(OAF|YAF)_([a-z]+)_([a-z_]+)$", re.IGNORECASE)
_TESS_EMOTIONS = {
    "angry": "angry",
    "disgust": "disgust",
    "fear": "fearful",
    "happy": "happy",
    "neutral": "neutral",
    "ps": "surprised",
    # The corpus's folders spell it out (OAF_Pleasant_surprise, YAF_pleasant_surprised).
    "pleasant_surprise": "surprised",
    "pleasant_surprised": "surprised",
    "sad": "sad",
}


def _parse_tess(path: str) -> FileLabel | None:
    m = _TESS_NAME.match(_split(path)[0])
    if m is None:
        return None
    speaker, word, emotion = m.groups()
    label = _TESS_EMOTIONS.get(emotion.lower())
    if label is None:
        return None
    return FileLabel(
        corpus=Scheme.TESS.value,
        speaker=f"tess:{speaker.upper()}",
        emotion=label,
        sex="female",
        corpus_emotion=emotion,
        text=word.lower(),
    )


# Case matters: the corpus writes the emotion upper case and the version lower case.
_EMODB_NAME = re.compile(r"^(\d\d)([ab](?:0[1-9]|10))([WLEAFTN])([a-z])$")
_EMODB_EMOTIONS: dict[str, str | None] = {
    "W": "angry",  # Ärger
    "L": None,  # Langeweile (boredom): no counterpart among EMOTIONS
    "E": "disgust",  # Ekel
    "A": "fearful",  # Angst
    "F": "happy",  # Freude
    "T": "sad",  # Trauer
    "N": "neutral",
}
_EMODB_SEX = {
    **dict.fromkeys(("03", "10", "11", "12", "15"), "male"),
    **dict.fromkeys(("08", "09", "13", "14", "16"), "female"),
}


def _parse_emodb(path: str) -> FileLabel | None:
    m = _EMODB_NAME.match(_split(path)[0])
    if m is None or m.group(1) not in _EMODB_SEX:
        return None
    speaker, text, emotion, _version = m.groups()
    return FileLabel(
        corpus=Scheme.EMODB.value,
        speaker=f"emodb:{speaker}",
        emotion=_EMODB_EMOTIONS[emotion],
        sex=_EMODB_SEX[speaker],
        corpus_emotion=emotion,
        text=text,
    )


_SAVEE_SPEAKERS = frozenset({"DC", "JE", "JK", "KL"})
_SAVEE_FLAT = re.compile(r"^(DC|JE|JK|KL)_(a|d|f|h|n|sa|su)(\d\d)$")
_SAVEE_BARE = re.compile(r"^(a|d|f|h|n|sa|su)(\d\d)$")
_SAVEE_EMOTIONS = {
    "a": "angry",
    "d": "disgust",
    "f": "fearful",
    "h": "happy",
    "n": "neutral",
    "sa": "sad",
    "su": "surprised",
}


def _parse_savee(path: str) -> FileLabel | None:
    stem, parent = _split(path)
    m = _SAVEE_FLAT.match(stem)
    if m is not None:
        speaker, emotion, number = m.groups()
    else:
        # The original release: DC/a01.wav; the name alone does not say who spoke.
        m = _SAVEE_BARE.match(stem)
        if m is None or parent not in _SAVEE_SPEAKERS:
            return None
        speaker = parent
        emotion, number = m.groups()
    # 15 sentences per emotion and 30 neutral ones per speaker.
    if not 1 <= int(number) <= (30 if emotion == "n" else 15):
        return None
    return FileLabel(
        corpus=Scheme.SAVEE.value,
        speaker=f"savee:{speaker}",
        emotion=_SAVEE_EMOTIONS[emotion],
        sex="male",
        corpus_emotion=emotion,
        text=f"{emotion}{number}",
    )


_PARSERS: dict[Scheme, Callable[[str], FileLabel | None]] = {
    Scheme.RAVDESS: _parse_ravdess,
    Scheme.CREMA_D: _parse_crema_d,
    Scheme.TESS: _parse_tess,
    Scheme.EMODB: _parse_emodb,
    Scheme.SAVEE: _parse_savee,
}


def parse_name(path: str | os.PathLike[str], scheme: Scheme | str = Scheme.AUTO) -> FileLabel | None:
    """Labels of a file from its name under one scheme, or the first that fits.

    Only the file name is read, except for SAVEE's original layout
    (``DC/a01.wav``), where the parent folder names the speaker.  The
    extension and any folders above do not matter.

    Args:
        path: the file, e.g. ``/data/crema-d/1001_DFA_ANG_XX.wav``.
        scheme: a :class:`Scheme` or its value; ``auto`` tries ``ravdess``,
            ``crema-d``, ``tess``, ``emodb`` and ``savee`` in turn.

    Returns:
        The labels, or ``None`` when the name does not fit the scheme (a code
        out of range counts as not fitting).

    Raises:
        ConfigError: an unknown scheme, or ``csv`` (use :func:`read_labels_csv`).
    """
    try:
        chosen = Scheme(scheme)
    except ValueError:
        raise ConfigError(f"The scheme must be one of {set(SCHEMES)}. Got {scheme!r} instead.") from None
    if chosen is Scheme.CSV:
        raise ConfigError("the csv scheme labels files from a CSV, not from their names: use read_labels_csv")
    text = os.fspath(path)
    if chosen is not Scheme.AUTO:
        return _PARSERS[chosen](text)
    for parse in _PARSERS.values():
        label = parse(text)
        if label is not None:
            return label
    return None
