from __future__ import annotations

import pytest

from semo_batch.naming import EMOTIONS, RAVDESS_COLUMNS, parse_ravdess


def test_all_fields_of_a_valid_name():
    assert parse_ravdess("03-01-05-02-01-02-12.wav") == {
        "modality": "audio-only",
        "vocal_channel": "speech",
        "emotion": "angry",
        "intensity": "strong",
        "statement": "kids",
        "repetition": 2,
        "actor": 12,
        "sex": "female",
    }


def test_other_codes_of_every_field():
    f = parse_ravdess("01-02-08-01-02-01-23.wav")
    assert f == {
        "modality": "audio-video",
        "vocal_channel": "song",
        "emotion": "surprised",
        "intensity": "normal",
        "statement": "dogs",
        "repetition": 1,
        "actor": 23,
        "sex": "male",
    }
    assert parse_ravdess("02-01-01-01-01-01-01.wav")["modality"] == "video-only"


@pytest.mark.parametrize("code", range(1, 9))
def test_emotion_codes_map_to_labels_in_order(code):
    f = parse_ravdess(f"03-01-{code:02d}-01-01-01-01.wav")
    assert f is not None
    assert f["emotion"] == EMOTIONS[code - 1]
    assert EMOTIONS[:2] == ("neutral", "calm") and EMOTIONS[-1] == "surprised"


@pytest.mark.parametrize(
    "name",
    [
        "03-01-05-01-01-01-12.WAV",  # upper-case extension
        "03-01-05-01-01-01-12.Flac",
        "03-01-05-01-01-01-12",  # no extension
        "Actor_12/03-01-05-01-01-01-12.wav",  # a relative path
        "/data/ravdess/Actor_12/03-01-05-01-01-01-12.wav",
    ],
)
def test_extension_case_and_folders_do_not_matter(name):
    f = parse_ravdess(name)
    assert f is not None
    assert (f["emotion"], f["actor"], f["sex"], f["repetition"]) == ("angry", 12, "female", 1)
    assert isinstance(f["actor"], int) and isinstance(f["repetition"], int)


def test_actor_parity_gives_sex():
    assert parse_ravdess("03-01-01-01-01-01-01.wav")["sex"] == "male"
    assert parse_ravdess("03-01-01-01-01-01-24.wav")["sex"] == "female"


def test_fields_are_the_store_columns_in_order():
    f = parse_ravdess("03-01-05-01-01-01-12.wav")
    assert tuple(f) == RAVDESS_COLUMNS
    assert RAVDESS_COLUMNS == (
        "modality",
        "vocal_channel",
        "emotion",
        "intensity",
        "statement",
        "repetition",
        "actor",
        "sex",
    )


@pytest.mark.parametrize(
    "name",
    [
        "speaker_a.wav",
        "03-01-05-01-01-12.wav",  # six fields
        "03-01-05-01-01-01-12-01.wav",  # eight fields
        "3-1-5-1-1-1-12.wav",  # one digit per field
        "003-01-05-01-01-01-12.wav",  # three digits
        "03_01_05_01_01_01_12.wav",  # wrong separator
        "03-01-05-01-01-01-1a.wav",
        "x03-01-05-01-01-01-12.wav",
        "03-01-05-01-01-01-12.tar.wav",  # the stem is not the name
        "",
        ".wav",
    ],
)
def test_wrong_shape_is_none(name):
    assert parse_ravdess(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "00-01-05-01-01-01-12.wav",  # modality 0
        "04-01-05-01-01-01-12.wav",  # modality 4
        "03-00-05-01-01-01-12.wav",  # vocal channel 0
        "03-03-05-01-01-01-12.wav",  # vocal channel 3
        "03-01-00-01-01-01-12.wav",  # emotion 0
        "03-01-09-01-01-01-12.wav",  # emotion 9
        "03-01-05-00-01-01-12.wav",  # intensity 0
        "03-01-05-03-01-01-12.wav",  # intensity 3
        "03-01-05-01-00-01-12.wav",  # statement 0
        "03-01-05-01-03-01-12.wav",  # statement 3
        "03-01-05-01-01-00-12.wav",  # repetition 0
        "03-01-05-01-01-03-12.wav",  # repetition 3
        "03-01-05-01-01-01-00.wav",  # actor 0
    ],
)
def test_out_of_range_code_is_none(name):
    assert parse_ravdess(name) is None
