"""ProgressPrinter off a terminal: a line every 10% (or 10 s), rates that leave start-up out."""

from __future__ import annotations

import io

import pytest

from semo_batch import progress
from semo_batch.progress import ProgressPrinter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(progress.time, "monotonic", c)
    return c


def test_no_eta_from_the_first_result_and_rates_from_then_on(clock: Clock) -> None:
    out = io.StringIO()
    p = ProgressPrinter("featurize", stream=out)
    clock.now += 5.0  # start-up: workers, imports, the encoder
    p(10, 100)  # 10 % -> a line, but one result says nothing about the rate
    clock.now += 2.0
    p(20, 100)  # 10 files in 2 s since the first result: 5 files/s, 80 left -> 16 s
    clock.now += 2.0
    p(25, 100)  # not a 10 % step and under 10 s: silent
    clock.now += 14.0
    p(100, 100)
    assert out.getvalue().splitlines() == [
        "featurize: 10/100 files",
        "featurize: 20/100 files, 5.0 files/s, ETA 16 s",
        "featurize: 100/100 files in 23.0 s",
    ]


def test_a_slow_run_still_says_something_every_10_s(clock: Clock) -> None:
    out = io.StringIO()
    p = ProgressPrinter("predict", stream=out)
    p(1, 1000)
    clock.now += 11.0
    p(2, 1000)
    assert out.getvalue().splitlines()[-1] == "predict: 2/1000 files, 0.1 files/s, ETA 10978 s"


def test_quiet_prints_nothing(clock: Clock) -> None:
    out = io.StringIO()
    p = ProgressPrinter("x", quiet=True, stream=out)
    p(1, 1)
    assert out.getvalue() == ""
