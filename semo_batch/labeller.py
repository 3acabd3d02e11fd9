"""The label columns of a file: from its name (a corpus naming scheme) or from a labels CSV."""

from __future__ import annotations

import os
from typing import Any

from .choices import choose
from .errors import ConfigError
from .naming import Scheme, parse_name, parse_ravdess, read_labels_csv

__all__ = ["Labeller"]


class Labeller:
    """The label columns of a file: from its name (a :class:`~semo_batch.naming.Scheme`) or a labels CSV.

    Args:
        scheme: how names are read (``auto`` tries every corpus scheme).
        labels_csv: a labels CSV (``path,emotion[,speaker][,corpus]``); files it does not
            list are unlabelled.

    Raises:
        ConfigError: an unknown scheme, a CSV with a name scheme, or a bad CSV.
    """

    def __init__(self, scheme: str | Scheme = Scheme.AUTO, labels_csv: str | os.PathLike[str] | None = None) -> None:
        self.scheme = choose(Scheme, scheme, "scheme")
        if labels_csv is not None and self.scheme not in (Scheme.AUTO, Scheme.CSV):
            raise ConfigError(f"a labels CSV replaces file-name schemes; got scheme {self.scheme.value!r} with it")
        if labels_csv is None and self.scheme is Scheme.CSV:
            raise ConfigError("scheme 'csv' needs a labels CSV (--labels FILE)")
        self.csv = read_labels_csv(labels_csv) if labels_csv is not None else None

    def __call__(self, path: str) -> dict[str, Any]:
        """RAVDESS fields (for RAVDESS names) and ``corpus``, ``speaker``, ``emotion``, ``sex``."""
        cols: dict[str, Any] = {}
        if self.csv is not None:
            label = self.csv.get(os.path.normpath(os.path.abspath(path)))
        else:
            if self.scheme in (Scheme.AUTO, Scheme.RAVDESS):
                cols.update(parse_ravdess(os.path.basename(path)) or {})
            label = parse_name(path, self.scheme)
        if label is not None:
            cols.update(corpus=label.corpus, speaker=label.speaker, emotion=label.emotion,
                        sex=label.sex or cols.get("sex"))
        return cols
