"""The HTML report: self-contained, escaped, and built from the store and the model directory."""

from __future__ import annotations

import base64
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import soundfile as sf
from conftest import harmonic_tone

from semo_batch.errors import ConfigError, ModelError, StoreError
from semo_batch.featurize import featurize
from semo_batch.naming import EMOTIONS
from semo_batch.options import RunOptions
from semo_batch.report import build_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: A file name an attacker could choose (a name cannot hold "/", so no closing tag).
EVIL = '<script>alert("x")<script> & <img src=x onerror=alert(1)>'
#: Attributes that make a browser fetch something.
_FETCHING = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background", "xlink:href"}


def assert_png(data: bytes) -> None:
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    assert len(data) > 1000


class Page(HTMLParser):
    """Collects tags, fetching attributes, tables (as rows of cell texts) and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._cell: list[str] | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [(tag, k, v or "") for k, v in attrs if k in _FETCHING]
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table(self, *header: str) -> list[list[str]]:
        """The body rows of the table whose first row is ``header``."""
        for t in self.tables:
            if t and tuple(t[0]) == header:
                return t[1:]
        raise AssertionError(f"no table with header {header}")

    def facts(self) -> dict[str, str]:
        """All two-cell rows of the page as name -> value."""
        return {row[0]: row[1] for t in self.tables for row in t if len(row) == 2}


def parse(path: Path) -> tuple[str, Page]:
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    page.close()
    return text, page


def assert_self_contained(page: Page) -> None:
    """Nothing on the page loads anything: no scripts, frames or links; every URL is an embedded PNG."""
    assert not {"script", "link", "iframe", "object", "embed", "base", "frame"} & set(page.tags)
    assert page.urls, "the report has no images"
    for tag, attr, url in page.urls:
        assert (tag, attr) == ("img", "src"), (tag, attr, url[:60])
        assert url.startswith("data:image/png;base64,")
        assert_png(base64.b64decode(url.split(",", 1)[1], validate=True))
    css = "".join(page.styles)
    assert "url(" not in css and "@import" not in css


def ravdess_tone(path: Path, freq: float, *, sr: int = 16_000, seconds: float = 0.5) -> None:
    sf.write(path, harmonic_tone(freq, sr=sr, duration=seconds, amp=0.3), sr)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A store of four synthetic RAVDESS-named files and two failures (one with an evil name)."""
    root = tmp_path_factory.mktemp("audio")
    for name, freq in (
        ("03-01-05-01-01-01-12.wav", 150.0),  # angry, normal, actor 12
        ("03-01-05-02-01-01-12.wav", 180.0),  # angry, strong, actor 12
        ("03-01-04-01-02-01-01.wav", 120.0),  # sad, normal, actor 1
        ("03-01-01-01-01-02-01.wav", 200.0),  # neutral, normal, actor 1
    ):
        ravdess_tone(root / name, freq)
    (root / f"{EVIL}.wav").write_bytes(b"this is not audio")
    (root / "empty.wav").write_bytes(b"")
    out = tmp_path_factory.mktemp("store") / "store"
    summary = featurize([root], out, options=RunOptions(jobs=1))
    assert (summary.done, summary.failed) == (4, 2)
    return out


def write_model(d: Path, *, history: bool = True, model_name: str = "svm") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    labels = ["angry", "neutral", "sad"]
    report = {
        "angry": {"precision": 0.75, "recall": 0.6, "f1-score": 0.667, "support": 5},
        "neutral": {"precision": 0.5, "recall": 1.0, "f1-score": 0.667, "support": 2},
        "sad": {"precision": 1.0, "recall": 0.5, "f1-score": 0.667, "support": 2},
        "accuracy": 0.667,
        "macro avg": {"precision": 0.75, "recall": 0.7, "f1-score": 0.667, "support": 9},
        "weighted avg": {"precision": 0.75, "recall": 0.667, "f1-score": 0.667, "support": 9},
    }
    metrics = {
        "accuracy": 0.667,
        "macro_f1": 0.667,
        "uar": 0.7,
        "report": report,
        "confusion_matrix": [[3, 2, 0], [0, 2, 0], [1, 0, 1]],
        "labels": labels,
        "protocol": "leave-actors-out (5 folds)",
    }
    (d / "metrics.json").write_text(json.dumps(metrics))
    (d / "model.json").write_text(json.dumps({"model": model_name, "feature_set": "emo"}))
    if history:
        hist = {"accuracy": [0.3, 0.5, 0.7], "val_accuracy": [0.3, 0.4, 0.35], "loss": [2, 1, 0.5], "val_loss": [2, 1.5, 1.6]}
        (d / "history.json").write_text(json.dumps(hist))
    return d


def test_report_of_a_store_and_a_model_is_self_contained(store, tmp_path):
    model = write_model(tmp_path / "model")
    out = build_report(store, model, tmp_path / "sub" / "report.html")
    assert out == tmp_path / "sub" / "report.html"
    text, page = parse(out)
    assert text.startswith("<!DOCTYPE html>")
    assert_self_contained(page)
    # overview, confusion matrix, per-class bars and training curves
    assert len(page.urls) == 4
    assert not list(tmp_path.joinpath("sub").glob(".*.tmp"))


def test_report_counts_the_store(store, tmp_path):
    _, page = parse(build_report(store, out_html=tmp_path / "r.html"))
    assert page.table("emotion", "files", "share") == [
        ["neutral", "1", "25.0%"],
        ["sad", "1", "25.0%"],
        ["angry", "2", "50.0%"],
    ]
    assert page.table("intensity", "files", "share") == [["normal", "3", "75.0%"], ["strong", "1", "25.0%"]]
    facts = page.facts()
    assert facts["files"] == "4" and facts["actors"] == "2"
    failures = page.table("path", "reason", "feature set")
    assert sorted(Path(p).name for p, _, _ in failures) == sorted([f"{EVIL}.wav", "empty.wav"])
    assert any(r == "empty file (0 bytes)" for _, r, _ in failures)


def test_report_escapes_file_names_and_model_strings(store, tmp_path):
    model = write_model(tmp_path / "model", model_name=EVIL)
    text, page = parse(build_report(store, model, tmp_path / "r.html"))
    assert "<script" not in text.lower() and "<img src=x" not in text
    assert "&lt;script&gt;" in text
    assert "script" not in page.tags
    assert {tag for tag in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "span", "code",
        "table", "thead", "tbody", "tr", "th", "td", "img",
    }
    # the evil name survives as text, exactly
    assert any(EVIL in t for t in page.text)


def test_model_metrics_are_tabulated(tmp_path):
    _, page = parse(build_report(model_dir=write_model(tmp_path / "m"), out_html=tmp_path / "r.html"))
    facts = page.facts()
    assert facts["accuracy"] == "0.667" and facts["UAR (macro recall)"] == "0.700" and facts["macro F1"] == "0.667"
    assert facts["protocol"] == "leave-actors-out (5 folds)" and facts["feature set"] == "emo"
    rows = page.table("class", "precision", "recall", "F1", "support")
    assert rows[0] == ["angry", "0.750", "0.600", "0.667", "5"]
    assert [r[0] for r in rows] == ["angry", "neutral", "sad", "macro avg", "weighted avg"]
    assert len(page.urls) == 3  # per-class, confusion, training


def test_missing_and_broken_model_pieces_become_notes(tmp_path):
    d = write_model(tmp_path / "m", history=False)
    (d / "model.json").unlink()
    (d / "metrics.json").write_text("{not json")
    text, page = parse(build_report(model_dir=d, out_html=tmp_path / "r.html"))
    assert "metrics.json could not be read" in text
    assert "no metrics.json" in text
    assert not page.urls  # nothing to draw, and no crash

    empty = tmp_path / "empty_model"
    empty.mkdir()
    text, _ = parse(build_report(model_dir=empty, out_html=tmp_path / "r2.html"))
    assert "no metrics.json" in text and "Model: empty_model" in text


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match="nothing to report"):
        build_report()
    with pytest.raises(StoreError, match="no feature store"):
        build_report(tmp_path / "missing")
    with pytest.raises(ModelError, match="no model directory"):
        build_report(model_dir=tmp_path / "missing")


def test_an_empty_store_says_so(tmp_path):
    (tmp_path / "store").mkdir()
    text, _ = parse(build_report(tmp_path / "store", out_html=tmp_path / "r.html"))
    assert "holds no featurized rows" in text and "No failures recorded." in text


@pytest.mark.ravdess
def test_report_on_real_recordings(tmp_path, ravdess_dir):
    actor = ravdess_dir / "Actor_12"
    audio = tmp_path / "audio"
    audio.mkdir()
    for emotion in range(1, 9):
        for src in actor.glob(f"03-01-{emotion:02d}-01-01-01-12.*"):
            shutil.copy(src, audio / src.name)
    featurize([audio], tmp_path / "store", options=RunOptions(jobs=1))
    text, page = parse(build_report(tmp_path / "store", out_html=tmp_path / "r.html"))
    assert_self_contained(page)
    assert [r[:2] for r in page.table("emotion", "files", "share")] == [[e, "1"] for e in EMOTIONS]
    assert page.facts()["actors"] == "1"
    assert "No failures recorded." in text
