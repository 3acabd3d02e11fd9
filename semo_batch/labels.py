"""The label vocabulary: the 8 emotions, their synonyms, and what a file's label says.

Every other module spells emotions, corpora and speakers through these.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

__all__ = ["EMOTIONS", "EMOTION_SYNONYMS", "FileLabel", "Scheme", "SCHEMES"]

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

#: Other spellings of the labels accepted in a labels CSV (lower case).
EMOTION_SYNONYMS: Mapping[str, str] = {
    "neutrality": "neutral",
    "calmness": "calm",
    "happiness": "happy",
    "joy": "happy",
    "sadness": "sad",
    "anger": "angry",
    "fear": "fearful",
    "afraid": "fearful",
    "disgusted": "disgust",
    "surprise": "surprised",
    "pleasant_surprise": "surprised",
    "pleasant surprise": "surprised",
}

@dataclasses.dataclass(frozen=True)
class FileLabel:
    """What a file's name (or a labels CSV) says about the recording.

    Attributes:
        corpus: the corpus, a :class:`Scheme` value (``"crema-d"``) or, from a
            labels CSV, its ``corpus`` column.
        speaker: ``"<corpus>:<speaker code>"``, unique across corpora.
        emotion: one of :data:`EMOTIONS`, or ``None`` when the file is
            unlabelled or its emotion has no counterpart (EmoDB's boredom).
        sex: ``"male"``, ``"female"``, or ``None`` when not known from the name.
        corpus_emotion: the emotion as the corpus spells it (``"ANG"``, ``"L"``,
            ``"ps"``), so that nothing is lost where ``emotion`` is ``None``;
            ``None`` for an unlabelled CSV row.
        text: what was said, as the corpus codes it (RAVDESS ``kids``/``dogs``,
            CREMA-D ``DFA``, TESS's word, EmoDB ``a01``), or ``None``.
    """

    corpus: str
    speaker: str
    emotion: str | None
    sex: str | None = None
    corpus_emotion: str | None = None
    text: str | None = None


class Scheme(str, enum.Enum):
    """How a file's labels are found: from its name, or from a labels CSV."""

    #: Each file-name scheme in turn; the first that parses wins.
    AUTO = "auto"
    RAVDESS = "ravdess"
    CREMA_D = "crema-d"
    TESS = "tess"
    EMODB = "emodb"
    SAVEE = "savee"
    #: A labels CSV (:func:`semo_batch.labelfiles.read_labels_csv`); a name alone says nothing.
    CSV = "csv"


#: The scheme names, as a CLI or job file spells them.
SCHEMES: tuple[str, ...] = tuple(s.value for s in Scheme)
