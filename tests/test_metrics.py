"""Scores on chosen probabilities have known values."""

from __future__ import annotations

import numpy as np
import pytest

from semo_batch.metrics import CVResult, FoldScores, Scores, confusion_lines, score

Y = ["a", "b", "a", "b"]
P = np.array([[0.82, 0.18], [0.29, 0.71], [0.62, 0.38], [0.93, 0.07]])


def test_score_known_values() -> None:
    s = score(Y, P, ["a", "b"])
    assert s.n == 4
    assert s.accuracy == pytest.approx(0.75)  # the last row is wrong
    assert s.uar == pytest.approx((1.0 + 0.5) / 2)
    # Brier: sum over classes of (p - onehot)^2, averaged over rows.
    assert s.brier == pytest.approx((2 * 0.18**2 + 2 * 0.29**2 + 2 * 0.38**2 + 2 * 0.93**2) / 4)
    # ECE: each confidence falls in its own of the 15 bins, so it is the mean |correct - confidence|.
    assert s.ece == pytest.approx((0.18 + 0.29 + 0.38 + 0.93) / 4)
    assert s.confusion_matrix == [[2, 0], [1, 1]]
    assert s.report["b"]["recall"] == pytest.approx(0.5)


def test_perfect_and_calibrated() -> None:
    s = score(["a", "b"], np.eye(2), ["a", "b"])
    assert (s.accuracy, s.uar, s.macro_f1, s.brier, s.ece) == (1.0, 1.0, 1.0, 0.0, 0.0)


def test_scores_round_trip_and_print() -> None:
    s = score(Y, P, ["a", "b"])
    assert Scores.from_dict(s.to_dict()) == s
    assert s.headline().startswith("accuracy 0.750  UAR 0.750  macro-F1 ")


def test_cv_result_mean_std_and_single_split_has_no_spread() -> None:
    one = score(Y, P, ["a", "b"])
    two = score(["a", "b"], np.eye(2), ["a", "b"])
    r = CVResult("p", [FoldScores(one, ["x:1"]), FoldScores(two, ["x:2"])], ["a", "b"], [[3, 0], [1, 2]])
    assert r.mean["accuracy"] == pytest.approx(0.875) and r.std["accuracy"] == pytest.approx(0.125)
    assert r.summary("accuracy") == "0.875 ± 0.125"
    single = CVResult("p", [FoldScores(one, ["x:1"])], ["a", "b"], one.confusion_matrix)
    assert single.summary("accuracy") == "0.750"
    assert r.to_dict()["folds"][1]["test_speakers"] == ["x:2"]


def test_confusion_lines_keep_whole_labels() -> None:
    lines = confusion_lines([[1, 0], [0, 2]], ["neutral", "surprised"])
    assert "surprised" in lines[1] and lines[3].strip().startswith("surprised")
