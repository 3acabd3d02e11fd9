"""seed features against the notebook's own code on real files, within stated tolerances.

See agreement.py for the tolerances and why chroma's is 0.02.  The largest
differences seen are printed under the benchmark table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("librosa", reason="the notebook reference needs librosa (pip install -e '.[test]')")

from agreement import compare_files


def test_seed_matches_notebook(agreement_paths: list[Path], note) -> None:
    result = compare_files(agreement_paths)
    note(result.line())
    assert result.ok, "\n".join(result.failures[:20])
