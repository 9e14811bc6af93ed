"""JSON configs: exact round trip, atomic writes, errors with line and column that change nothing."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerlab.analytics import (
    CheckerlabError,
    Config,
    ConfigError,
    SimulationSettings,
    Stack,
    load_config,
    save_config,
)
from checkerlab.analytics.config import BIAS_KINDS, INITS, INPUT_KINDS
from checkerlab.analytics.files import atomic_write, write_array

settings_strategy = st.builds(
    SimulationSettings,
    input=st.sampled_from([k for k in INPUT_KINDS if k != "image"]),
    brightness=st.floats(0, 10, allow_nan=False),
    in_channels=st.integers(1, 8),
    init=st.sampled_from(INITS),
    bias=st.sampled_from(BIAS_KINDS),
    bias_value=st.floats(-2, 2, allow_nan=False),
    seed=st.integers(0, 2**32 - 1),
    draws=st.integers(1, 100),
)
specs = st.sampled_from([
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1, out_channels=8) * 4, ReLU()",
    "Upsample(2, mode='bilinear'), Conv2d(3, padding='same', out_channels=4, bias=False)",
    "Conv2d(3, padding=1, out_channels=12), PixelShuffle(2), LeakyReLU(negative_slope=0.2)",
    "ConvTranspose2d((3, 5), stride=(2, 3), dilation=(1, 2), groups=2, out_channels=4), Tanh(), Sigmoid()",
])


@settings(max_examples=60, deadline=None)
@given(specs, st.tuples(st.integers(1, 256), st.integers(1, 256)), settings_strategy)
def test_round_trip_is_exact(tmp_path_factory, spec, size, sim):
    path = tmp_path_factory.mktemp("cfg") / "c.json"
    config = Config(Stack(spec), size, sim)
    save_config(config, path)
    again = load_config(path)
    assert again == config
    save_config(again, path)
    assert path.read_text() == config.to_json()


def test_spec_only_file_is_accepted(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"schema_version": 1, "spec": "ConvTranspose2d(3, stride=2) * 2"}))
    assert load_config(path).stack == Stack("ConvTranspose2d(3, stride=2) * 2")


BAD_FILES = [
    ('{"schema_version": 1,\n  "stack": [}', r"c\.json:2:13: Expecting value"),
    ("[1, 2]", r"the top level must be a JSON object"),
    ('{"schema_version": 7, "spec": "ReLU()"}', r"schema_version=7 is not supported"),
    ('{"schema_version": 1, "spec": "ReLU()", "colour": 1}', r"unknown keys: colour"),
    ('{"schema_version": 1, "stack": {}}', r"stack must be a list of layer objects"),
    ('{"schema_version": 1, "stack": [3]}', r"stack\[0\] must be an object with a 'type'"),
    ('{"schema_version": 1, "stack": [{"type": "ReLU"}, {"type": "ConvTranspose2d", "kernel_size": 3, '
     '"stride": 0}]}', r"stack\[1\]: ConvTranspose2d: stride=0 is out of range"),
    ('{"schema_version": 1}', r"a config needs 'stack' \(or 'spec'\)"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": 3}', r"simulation must be an object"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"speed": 3}}', r"unknown simulation keys: speed"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"init": "xavier"}}',
     r"simulation\.init='xavier' must be one of kaiming_uniform"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"draws": 0}}',
     r"simulation\.draws=0 must be an integer in 1\.\.10000"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"brightness": -1}}',
     r"simulation\.brightness=-1 must be a number in 0\.\.1000000"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"input": "image"}}',
     r"simulation\.input='image' needs simulation\.image_path"),
    ('{"schema_version": 1, "spec": "ReLU()", "input_size": [0, 4]}', r"input_size=\(0, 4\) must be a positive"),
    ('{"schema_version": 1, "spec": "ReLU()", "input_size": 32}',
     r"input_size=32 must be a list \[H, W\] of two positive integers"),
    ('{"schema_version": 1, "spec": "ReLU()", "input_size": [1e999, 4]}', r"input_size=\(inf, 4\) must be"),
    ('{"schema_version": 1, "spec": "ReLU()", "stack": [{"type": "Tanh"}]}',
     r"spec 'ReLU\(\)' and stack 'Tanh\(\)' disagree; keep one of them"),
    ('{"schema_version": 1, "spec": 3}', r"spec=3 must be a layer list \(a string\)"),
    ('{"schema_version": 1, "stack": [{"kernel_size": 3}]}', r"stack\[0\]: .*a layer object needs a 'type'"),
    ('{"schema_version": 1, "stack": [{"type": "ConvTranspose2d", "kernel_size": 9223372036854775808}]}',
     r"kernel_size=9223372036854775808 is out of range: must be an integer in 1\.\.1048576"),
    ('{"schema_version": 1, "stack": [{"type": "ConvTranspose2d", "kernel_size": "3"}]}',
     r"kernel_size='3' must be an integer in 1\.\.1048576"),
    ('{"schema_version": 1, "spec": "ReLU()", "simulation": {"image_path": 3}}',
     r"simulation\.image_path=3 must be a file name"),
    ('{"schema_version": 1, "spec": "ReLU()", "' + "k" * 500 + '": 1}', r"unknown keys: k+…k+$"),
    ('{"schema_version": true, "spec": "ReLU()"}', r"schema_version=True is not supported"),
    ("", r"c\.json: the file is empty"),
    ("[" * 100_000 + "]" * 100_000, r"the JSON is nested too deeply"),
    ('{"schema_version": 1, "stack": [{"type": "ReLU", "x": ' + "9" * 5000 + "}]}",
     r"an integer has more than 4,300 digits"),
]


@pytest.mark.parametrize("text, message", BAD_FILES)
def test_malformed_file_errors_and_changes_nothing(tmp_path, text, message):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert path.read_text() == text
    assert len(str(info.value)) <= 300 and "\n" not in str(info.value)


@pytest.mark.parametrize("data, message", [
    (b"\xff{}", r"not UTF-8 text \(byte 0xff at offset 0\); save the config as UTF-8 JSON"),
    ('{"schema_version": 1, "spec": "caf\xe9"}'.encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset 34\)"),
    (b" " * (16 * 2**20 + 1), r"the config file's size in bytes would be 16,777,217, over the budget of 16,777,216"),
])
def test_undecodable_or_oversized_files(tmp_path, data, message):
    path = tmp_path / "c.json"
    path.write_bytes(data)
    with pytest.raises(CheckerlabError, match=message):
        load_config(path)


def test_a_number_as_bias_is_a_constant_bias():
    assert SimulationSettings(bias=0.25) == SimulationSettings(bias="constant", bias_value=0.25)
    assert SimulationSettings(bias=-1).bias_value == -1
    with pytest.raises(CheckerlabError, match=r"simulation\.bias_value=inf must be a number"):
        SimulationSettings(bias=float("inf"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"cannot read: No such file"):
        load_config(tmp_path / "nope.json")


def test_settings_validation():
    with pytest.raises(CheckerlabError, match=r"simulation\.seed=-1"):
        SimulationSettings(seed=-1)
    with pytest.raises(CheckerlabError, match=r"simulation\.bias='big' must be one of zero, constant, random"):
        SimulationSettings(bias="big")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", boom)
    with pytest.raises(OSError):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temp file left behind


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os
    import stat
    path = tmp_path / "new.txt"
    atomic_write(path, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    atomic_write(path, "y")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and path.read_text() == "y"


def test_write_array_csv_and_npy(tmp_path):
    from fractions import Fraction
    write_array(tmp_path / "m.csv", np.array([[1, 2], [3, 4]]))
    assert (tmp_path / "m.csv").read_text() == "1,2\n3,4\n"
    write_array(tmp_path / "r.csv", np.array([[Fraction(1, 2), Fraction(3)]], dtype=object))
    assert (tmp_path / "r.csv").read_text() == "1/2,3\n"
    write_array(tmp_path / "m.npy", np.arange(6.0).reshape(2, 3))
    assert np.array_equal(np.load(tmp_path / "m.npy"), np.arange(6.0).reshape(2, 3))
    with pytest.raises(CheckerlabError, match="m.txt: unknown extension; use .csv or .npy"):
        write_array(tmp_path / "m.txt", np.zeros(2))


def test_write_array_exact_rationals_and_its_budget(tmp_path):
    from checkerlab.analytics.budget import MAX_CSV_CELLS
    from checkerlab.analytics.files import check_array
    from checkerlab.analytics.rational import RationalArray

    exact = RationalArray(np.array([[2, 4, 3], [8, 6, 0]]), 4)
    write_array(tmp_path / "r.csv", exact)
    assert (tmp_path / "r.csv").read_text() == "1/2,1,3/4\n2,3/2,0\n"
    write_array(tmp_path / "r.npy", exact)
    assert np.load(tmp_path / "r.npy").tolist() == [[0.5, 1.0, 0.75], [2.0, 1.5, 0.0]]
    write_array(tmp_path / "big.csv", np.array([[10**30, -1]], dtype=object))
    assert (tmp_path / "big.csv").read_text() == f"{10**30},-1\n"
    check_array(tmp_path / "ok.csv", (2048, 2048))
    check_array(tmp_path / "ok.npy", (10**5, 10**5))  # NPY has no cell budget (the map's own budget applies)
    with pytest.raises(CheckerlabError, match=f"the number of CSV cells would be 4,194,305, over the budget of "
                                              f"{MAX_CSV_CELLS:,}; write a .npy file instead"):
        check_array(tmp_path / "m.csv", (4194305,))
    with pytest.raises(CheckerlabError, match="the number of CSV cells"):
        write_array(tmp_path / "m.csv", np.zeros(MAX_CSV_CELLS + 1, dtype=np.int8))
    assert not (tmp_path / "m.csv").exists()
