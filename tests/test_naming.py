from __future__ import annotations

import os
from pathlib import Path

import pytest

from semo_batch.errors import ConfigError
from semo_batch.naming import (
    EMOTIONS,
    RAVDESS_COLUMNS,
    SCHEMES,
    FileLabel,
    Scheme,
    parse_name,
    parse_ravdess,
    read_labels_csv,
)


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


# --- FileLabel schemes -----------------------------------------------------------------

#: One known name per scheme, with the labels it must give.
KNOWN = [
    (
        "ravdess",
        "Actor_12/03-01-05-02-01-01-12.wav",
        FileLabel("ravdess", "ravdess:12", "angry", "female", "05", "kids"),
    ),
    ("ravdess", "03-01-02-01-02-01-01.wav", FileLabel("ravdess", "ravdess:01", "calm", "male", "02", "dogs")),
    ("crema-d", "1001_DFA_ANG_XX.wav", FileLabel("crema-d", "crema-d:1001", "angry", None, "ANG", "DFA")),
    (
        "crema-d",
        "AudioWAV/1091_WSI_FEA_HI.wav",
        FileLabel("crema-d", "crema-d:1091", "fearful", None, "FEA", "WSI"),
    ),
    ("crema-d", "1045_IEO_DIS_LO.flac", FileLabel("crema-d", "crema-d:1045", "disgust", None, "DIS", "IEO")),
    ("crema-d", "1002_TIE_NEU_MD.wav", FileLabel("crema-d", "crema-d:1002", "neutral", None, "NEU", "TIE")),
    ("tess", "OAF_back_angry.wav", FileLabel("tess", "tess:OAF", "angry", "female", "angry", "back")),
    ("tess", "YAF_dog_ps.wav", FileLabel("tess", "tess:YAF", "surprised", "female", "ps", "dog")),
    (
        "tess",
        "TESS/OAF_Pleasant_surprise/OAF_bite_ps.wav",
        FileLabel("tess", "tess:OAF", "surprised", "female", "ps", "bite"),
    ),
    ("tess", "yaf_Kite_Fear.WAV", FileLabel("tess", "tess:YAF", "fearful", "female", "Fear", "kite")),
    (
        "tess",
        "YAF_youth_pleasant_surprised.wav",
        FileLabel("tess", "tess:YAF", "surprised", "female", "pleasant_surprised", "youth"),
    ),
    ("emodb", "03a01Fa.wav", FileLabel("emodb", "emodb:03", "happy", "male", "F", "a01")),
    ("emodb", "wav/08b10Wc.wav", FileLabel("emodb", "emodb:08", "angry", "female", "W", "b10")),
    ("emodb", "16a07Lb.wav", FileLabel("emodb", "emodb:16", None, "female", "L", "a07")),
    ("emodb", "15b03Ta.wav", FileLabel("emodb", "emodb:15", "sad", "male", "T", "b03")),
    ("savee", "DC_a01.wav", FileLabel("savee", "savee:DC", "angry", "male", "a", "a01")),
    ("savee", "AudioData/JE/sa02.wav", FileLabel("savee", "savee:JE", "sad", "male", "sa", "sa02")),
    ("savee", "KL/su15.wav", FileLabel("savee", "savee:KL", "surprised", "male", "su", "su15")),
    ("savee", "JK_n30.wav", FileLabel("savee", "savee:JK", "neutral", "male", "n", "n30")),
]
FILE_SCHEMES = [s for s in SCHEMES if s not in ("auto", "csv")]


@pytest.mark.parametrize("scheme, name, label", KNOWN)
def test_known_names_give_known_labels(scheme, name, label):
    assert parse_name(name, scheme) == label
    assert parse_name(name) == label  # auto finds the same
    assert label.emotion is None or label.emotion in EMOTIONS


@pytest.mark.parametrize("scheme, name, label", KNOWN)
def test_no_name_parses_under_two_schemes(scheme, name, label):
    assert [s for s in FILE_SCHEMES if parse_name(name, s) is not None] == [scheme]


def test_emodb_boredom_has_no_counterpart_and_tess_ps_is_surprised():
    bored = parse_name("03a01La.wav", Scheme.EMODB)
    assert bored is not None and bored.emotion is None and bored.corpus_emotion == "L"
    assert parse_name("OAF_back_ps.wav", Scheme.TESS).emotion == "surprised"


def test_every_corpus_code_maps_as_documented():
    assert {
        c: parse_name(f"1001_DFA_{c}_XX.wav").emotion for c in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")
    } == {"ANG": "angry", "DIS": "disgust", "FEA": "fearful", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
    assert {c: parse_name(f"03a01{c}a.wav").emotion for c in "WLEAFTN"} == {
        "W": "angry",
        "L": None,
        "E": "disgust",
        "A": "fearful",
        "F": "happy",
        "T": "sad",
        "N": "neutral",
    }
    tess = ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")
    assert [parse_name(f"OAF_back_{c}.wav").emotion for c in tess] == [
        "angry",
        "disgust",
        "fearful",
        "happy",
        "neutral",
        "surprised",
        "sad",
    ]
    savee = ("a", "d", "f", "h", "n", "sa", "su")
    assert [parse_name(f"DC_{c}01.wav").emotion for c in savee] == [
        "angry",
        "disgust",
        "fearful",
        "happy",
        "neutral",
        "sad",
        "surprised",
    ]


def test_emodb_sex_follows_the_corpus_documentation():
    sexes = {
        s: parse_name(f"{s}a01Na.wav").sex
        for s in ("03", "08", "09", "10", "11", "12", "13", "14", "15", "16")
    }
    assert sorted(s for s, x in sexes.items() if x == "male") == ["03", "10", "11", "12", "15"]
    assert sorted(s for s, x in sexes.items() if x == "female") == ["08", "09", "13", "14", "16"]


def test_speakers_are_qualified_by_their_corpus():
    assert all(label.speaker.startswith(f"{label.corpus}:") for _, _, label in KNOWN)
    # actor 12 of RAVDESS and speaker 12 of EmoDB are different people
    assert parse_name("03-01-05-01-01-01-12.wav").speaker == "ravdess:12"
    assert parse_name("12a01Fa.wav").speaker == "emodb:12"


@pytest.mark.parametrize(
    "name",
    [
        "speaker_a.wav",
        "",
        ".wav",
        "03-01-05-01-01-12.wav",  # RAVDESS with six fields
        "1000_DFA_ANG_XX.wav",  # CREMA-D actor below 1001
        "1092_DFA_ANG_XX.wav",  # CREMA-D actor above 1091
        "1001_ABC_ANG_XX.wav",  # unknown sentence
        "1001_DFA_CAL_XX.wav",  # unknown emotion
        "1001_DFA_ANG_ZZ.wav",  # unknown level
        "1001_dfa_ang_xx.wav",  # CREMA-D codes are upper case
        "MAF_back_angry.wav",  # no such TESS speaker
        "OAF_back_bored.wav",  # no such TESS emotion
        "OAF_angry.wav",  # no word
        "02a01Fa.wav",  # no EmoDB speaker 02
        "03c01Fa.wav",  # text code a/b only
        "03a11Fa.wav",  # text 11
        "03a01Xa.wav",  # unknown emotion letter
        "03a01fa.wav",  # EmoDB emotion letter is upper case
        "03a01F.wav",  # no version
        "XX_a01.wav",  # no such SAVEE speaker
        "DC_b01.wav",  # no such SAVEE emotion
        "DC_a16.wav",  # 15 angry sentences
        "DC_n31.wav",  # 30 neutral sentences
        "a01.wav",  # SAVEE's bare name needs its speaker folder
        "other/a01.wav",
        "DC/DC_a00.wav",
    ],
)
def test_names_of_no_scheme_are_none(name):
    assert parse_name(name) is None
    assert all(parse_name(name, s) is None for s in FILE_SCHEMES)


def test_scheme_values_and_bad_schemes():
    assert SCHEMES == ("auto", "ravdess", "crema-d", "tess", "emodb", "savee", "csv")
    assert Scheme("crema-d") is Scheme.CREMA_D and Scheme.CREMA_D == "crema-d"
    with pytest.raises(ConfigError, match=r"The scheme must be one of .*Got 'cremad' instead"):
        parse_name("1001_DFA_ANG_XX.wav", "cremad")
    with pytest.raises(ConfigError, match="from a CSV, not from their names"):
        parse_name("1001_DFA_ANG_XX.wav", "csv")


def test_paths_and_backslashes_and_pathlike():
    label = parse_name(Path("/data/savee/DC/a01.wav"))
    assert label is not None and label.speaker == "savee:DC"
    assert parse_name("C:\\data\\SAVEE\\JE\\h05.wav").speaker == "savee:JE"
    assert parse_name("DC/a01.wav", "savee") == parse_name("DC_a01.wav", "savee")


# --- labels CSV --------------------------------------------------------------------------


def write_csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_good_file(tmp_path):
    csv_path = write_csv(
        tmp_path / "mine.csv",
        "path,emotion,speaker,corpus\n"
        "/data/s1/a.wav,angry,s1,mycorpus\n"
        "/data/s1/b.wav,,s1,mycorpus\n"  # unlabelled
        "/data/s2/c.wav,Neutral,,\n",  # defaults: parent folder, CSV stem
    )
    labels = read_labels_csv(csv_path)
    assert list(labels) == ["/data/s1/a.wav", "/data/s1/b.wav", "/data/s2/c.wav"]
    assert labels["/data/s1/a.wav"] == FileLabel("mycorpus", "mycorpus:s1", "angry", None, "angry")
    assert labels["/data/s1/b.wav"] == FileLabel("mycorpus", "mycorpus:s1", None, None, None)
    assert labels["/data/s2/c.wav"] == FileLabel("mine", "mine:s2", "neutral", None, "Neutral")


def test_csv_relative_paths_follow_the_csv_folder(tmp_path, monkeypatch):
    write_csv(
        tmp_path / "corpus" / "labels.csv",
        "\ufeffEmotion , Path\n"  # Excel's byte-order mark, any case and order, spaces
        "sad,spk1/x.wav\n"
        "happy,./spk2/../spk2/y.wav\n"
        "calm,z.wav\n",
    )
    monkeypatch.chdir(tmp_path)  # a relative CSV path still gives absolute keys
    labels = read_labels_csv(os.path.join("corpus", "labels.csv"))
    root = tmp_path / "corpus"
    assert labels == {
        str(root / "spk1" / "x.wav"): FileLabel("labels", "labels:spk1", "sad", None, "sad"),
        str(root / "spk2" / "y.wav"): FileLabel("labels", "labels:spk2", "happy", None, "happy"),
        str(root / "z.wav"): FileLabel("labels", "labels:corpus", "calm", None, "calm"),
    }


@pytest.mark.parametrize(
    "value, label",
    [
        ("anger", "angry"),
        ("ANGRY", "angry"),
        ("fear", "fearful"),
        ("Happiness", "happy"),
        ("joy", "happy"),
        ("sadness", "sad"),
        ("surprise", "surprised"),
        ("Pleasant Surprise", "surprised"),
        ("disgusted", "disgust"),
        ("calmness", "calm"),
    ],
)
def test_csv_synonyms(tmp_path, value, label):
    labels = read_labels_csv(write_csv(tmp_path / "l.csv", f"path,emotion\na.wav,{value}\n"))
    assert [x.emotion for x in labels.values()] == [label]


def test_csv_unknown_emotion_names_file_line_and_value(tmp_path):
    csv_path = write_csv(tmp_path / "l.csv", "path,emotion\na.wav,sad\n\nb.wav,bored\n")
    with pytest.raises(ConfigError) as exc:
        read_labels_csv(csv_path)
    msg = str(exc.value)
    assert msg.startswith(f"{csv_path}:4: unknown emotion 'bored'; expected one of ")
    assert all(e in msg for e in EMOTIONS) and "\n" not in msg


@pytest.mark.parametrize(
    "header, expected",
    [
        ("path,speaker", "missing column(s) emotion"),
        ("file,emotion", "missing column(s) path"),
        ("", "missing column(s) path, emotion"),
        ("path,emotion,speeker", "unknown column(s) speeker"),
    ],
)
def test_csv_bad_header_says_what_is_expected(tmp_path, header, expected):
    csv_path = write_csv(tmp_path / "l.csv", f"{header}\n" if header else "")
    with pytest.raises(ConfigError) as exc:
        read_labels_csv(csv_path)
    assert str(exc.value) == f"{csv_path}: {expected}; expected a header row path,emotion[,speaker][,corpus]"


def test_csv_other_mistakes_are_one_line_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.csv: no such labels file$"):
        read_labels_csv(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match=r"l\.csv:3: \./a\.wav is labelled twice \(also on line 2\)$"):
        read_labels_csv(write_csv(tmp_path / "l.csv", "path,emotion\na.wav,sad\n./a.wav,happy\n"))
    with pytest.raises(ConfigError, match=r"l\.csv:2: empty path$"):
        read_labels_csv(write_csv(tmp_path / "l.csv", "path,emotion\n,sad\n"))


def test_crema_d_listener_votes(tmp_path):
    from semo_batch.naming import read_crema_d_perceived

    csv_path = tmp_path / "perceived.csv"
    csv_path.write_text("file,voice_vote,voice_level\n1001_IEO_NEU_XX,N,69.1\n1001_IEO_HAP_HI,H,63.5\n1002_DFA_ANG_XX,A:N,50\n")
    assert read_crema_d_perceived(csv_path) == {"1001_IEO_NEU_XX": "neutral", "1001_IEO_HAP_HI": "happy"}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,vote\nx,A\n")
    with pytest.raises(ConfigError, match="expected the columns file,voice_vote"):
        read_crema_d_perceived(bad)
