from __future__ import annotations

import dataclasses
import json
import re

import pytest

from semo_batch.config import (
    DEFAULT_FEATURE_SET,
    FEATURE_SETS,
    WHISPER_BASE_SHA256,
    FeatureConfig,
    FeatureSet,
    get_config,
)
from semo_batch.errors import ConfigError

# A changed value for every parameter; each must change the fingerprint.
_CHANGES = {
    "name": "seed",
    "version": 99,
    "sample_rate": 22_050,
    "n_fft": 2048,
    "win_length": 512,
    "hop_length": 256,
    "center": False,
    "pad_mode": "reflect",
    "n_mels": 64,
    "fmin": 20.0,
    "fmax": 7600.0,
    "n_mfcc": 13,
    "n_chroma": 12,
    "f0_min": 60.0,
    "f0_max": 400.0,
    "min_duration": 0.2,
    "encoder_sha256": "0" * 64,
    "compute_type": "float32",
    "pooling": "mean_std",
    "trim_db": 30.0,
    "segment": "{\"mode\": \"none\"}",
}
_CHANGES["parts"] = (get_config("whisper"),)


def test_every_parameter_has_a_change_listed():
    assert set(_CHANGES) == {f.name for f in dataclasses.fields(FeatureConfig)}


def test_fingerprint_is_16_hex_digits_and_stable():
    cfg = get_config("emo")
    fp = cfg.fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", fp)
    assert cfg.fingerprint() == fp
    # An equal configuration built separately, and one that went through a dict and JSON.
    assert FeatureConfig(**cfg.to_dict()).fingerprint() == fp
    assert FeatureConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))).fingerprint() == fp


def test_fingerprint_of_the_named_sets_is_pinned():
    # Changing these breaks every existing store and model: bump ``version`` on purpose, then update.
    # emo version 4 (the path F0 tracker); version 3 was cf58b379fcdadb52.
    assert get_config("emo").fingerprint() == "45cd436456e6259e"
    # Still on emo version 3: the fingerprint the bundled models record.
    assert get_config("emo+whisper").fingerprint() == "a0b2c368ce101f41"
    assert get_config("seed").fingerprint() == "3318a00177b08379"
    assert get_config(FeatureSet.SEED).fingerprint() == "3318a00177b08379"
    assert get_config("whisper").fingerprint() == "70bd4068a68aec5a"


def test_unset_optional_parameters_are_not_recorded():
    # Stores and models written before the encoder parameters existed hold these dicts.
    for name in ("emo", "seed"):
        d = get_config(name).to_dict()
        assert not {"encoder_sha256", "compute_type", "pooling", "trim_db"} & set(d)
        assert FeatureConfig.from_dict(d) == get_config(name)
    whisper = get_config(FeatureSet.WHISPER)
    assert whisper.to_dict()["encoder_sha256"] == WHISPER_BASE_SHA256
    assert FeatureConfig.from_dict(json.loads(json.dumps(whisper.to_dict()))).fingerprint() == whisper.fingerprint()


def test_whisper_fingerprint_covers_the_weights_and_the_encoder_parameters():
    base = get_config("whisper")
    for change in ({"encoder_sha256": "f" * 64}, {"compute_type": "float32"}, {"trim_db": 40.0}, {"pooling": None}):
        assert dataclasses.replace(base, **change).fingerprint() != base.fingerprint()
    trimmed = dataclasses.replace(base, trim_db=40.0)
    assert dataclasses.replace(base, trim_db=40).fingerprint() == trimmed.fingerprint()  # 40 == 40.0


@pytest.mark.parametrize("field", sorted(_CHANGES))
def test_fingerprint_changes_with_each_parameter(field):
    base = get_config("emo")
    changed = dataclasses.replace(base, **{field: _CHANGES[field]})
    assert getattr(changed, field) != getattr(base, field)
    assert changed.fingerprint() != base.fingerprint()


def test_equal_configs_have_equal_fingerprints():
    base = get_config("emo")
    from_toml = dataclasses.replace(base, fmin=0, fmax=8000, f0_min=70, f0_max=500)
    assert from_toml == base  # dataclass equality: 8000 == 8000.0
    assert from_toml.fingerprint() == base.fingerprint()


def test_get_config_by_name_and_enum():
    assert get_config("emo") is FEATURE_SETS["emo"]
    assert get_config(FeatureSet.EMO) is FEATURE_SETS["emo"]
    assert get_config(DEFAULT_FEATURE_SET).name == "emo"
    seed = get_config("seed")
    assert (seed.sample_rate, seed.n_fft, seed.hop_length, seed.n_mels, seed.n_chroma, seed.n_mfcc) == (
        48_000,
        2048,
        512,
        128,
        24,
        40,
    )
    assert seed.pad_mode == "reflect"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ConfigError) as e:
        get_config("egemaps")
    msg = str(e.value)
    assert "'egemaps'" in msg
    for known in FEATURE_SETS:
        assert known in msg
    assert "\n" not in msg


def test_config_is_frozen():
    cfg = get_config("emo")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.sample_rate = 8000  # type: ignore[misc]
    assert get_config("emo").sample_rate == 16_000
    assert hash(cfg) == hash(FeatureConfig(**cfg.to_dict()))


def test_mel_fmax_defaults_to_nyquist():
    assert get_config("seed").mel_fmax == 24_000.0
    assert get_config("emo").mel_fmax == 8000.0


def test_invalid_parameters_are_refused():
    base = get_config("emo").to_dict()
    with pytest.raises(ConfigError, match="win_length"):
        FeatureConfig(**{**base, "win_length": 2048})
    with pytest.raises(ConfigError, match="pad_mode"):
        FeatureConfig(**{**base, "pad_mode": "wrap"})
    for field, bad in (("compute_type", "int4"), ("pooling", "max"), ("trim_db", -3.0)):
        with pytest.raises(ConfigError, match=field):
            FeatureConfig(**{**base, field: bad})
    with pytest.raises(ConfigError, match="unknown feature parameters.*jobs"):
        FeatureConfig.from_dict({**base, "jobs": 4})


def test_a_combined_set_is_its_parts_side_by_side() -> None:
    import dataclasses
    import json

    import numpy as np

    from semo_batch import features
    from semo_batch.config import FeatureConfig

    both = get_config("emo+whisper")
    # The combined set keeps emo version 3, which the bundled models were trained on.
    emo, whisper = dataclasses.replace(get_config("emo"), version=3), get_config("whisper")
    assert both.parts == (emo, whisper)
    assert features.names(both) == features.names(emo) + features.names(whisper)
    back = FeatureConfig.from_dict(json.loads(json.dumps(both.to_dict())))
    assert back == both and back.fingerprint() == both.fingerprint()
    # A change in any part changes the combined fingerprint.
    other = dataclasses.replace(both, parts=(dataclasses.replace(emo, f0_max=400.0), whisper))
    assert other.fingerprint() != both.fingerprint()
    y = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16_000) / 16_000)).astype(np.float32)
    np.testing.assert_array_equal(features.extract(y, both), np.concatenate([features.extract(y, emo), features.extract(y, whisper)]))
