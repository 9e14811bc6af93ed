"""No bad input can crash, hang or exhaust memory (issue 10): every command exits 0, or exits 2 with one line of
at most 300 characters, within 20 s and 4 GB, and never prints a traceback.

Two sources of inputs, both run through one sandbox process (tests/sandbox.py: a forked child per input
with RLIMIT_AS = 4 GB and a 20 s timeout, one interpreter start for all of them):
- tests/data/cli_corpus.json: one or more cases for every class of bad input found so far (issue 10 items
  4-8, and what fuzzing found), each with its expected exit code and message;
- a Hypothesis property over generated specs, configs and options, mutated at the character level.
"""

from __future__ import annotations

import json
import os
import re
import string
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sandbox import Sandbox, contract_violation

if sys.platform == "win32":  # the sandbox forks
    pytest.skip("optional: the CLI sandbox needs fork()", allow_module_level=True)

CORPUS = json.loads((Path(__file__).parent / "data" / "cli_corpus.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sandbox():
    box = Sandbox({"CHECKERLAB_SYMBOLIC_SECONDS": "2"})  # the symbolic deadline, without waiting 12 s for it
    yield box
    box.close()


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus(sandbox, case):
    result = sandbox.run(case["argv"], case.get("files"), case.get("env"))
    assert contract_violation(result) is None, (contract_violation(result), result)
    assert result["code"] == case["exit"], result
    if "stderr" in case:
        assert re.search(case["stderr"], result["stderr"]), result["stderr"]
    if case["exit"] == 0:
        assert result["stdout"] or case["argv"][0] == "gui"  # it did its job (gui --screenshot prints nothing)
        assert "error" not in result["stderr"]


def test_corpus_covers_every_class_of_the_issue():
    ids = {c["id"] for c in CORPUS}
    for needed in ("surrogate-in-spec", "config-not-utf8", "config-input-size-int", "spec-4301-digit-int",
                   "config-5000-digit-int", "nested-json", "repeat-chain-30000", "unary-minus-10000",
                   "padding-same-on-transposed", "string-kernel", "conv2d-3-x1000-spectrum", "stride-2-63-literal",
                   "csv-txt", "missing-config", "empty-config", "foo-times-0", "kernel-1e6", "k3s2-x40",
                   "k3s2-x12-from-1x1", "relu-1e9-layers", "stride-1e9-float", "pixelshuffle-1e9", "bilinear-x30",
                   "gui-bad-spec", "gui-config-not-utf8"):
        assert needed in ids, needed
    commands = {c["argv"][0] for c in CORPUS if c["argv"] and isinstance(c["argv"][0], str)}
    assert commands >= {"analyze", "simulate", "formula", "gui"}


# ---------------------------------------------------------------- generated inputs

NAMES = ["ConvTranspose2d", "Conv2d", "Upsample", "PixelShuffle", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "ConvT",
         "Deconv", "conv", "up", "ps", "nn.ConvTranspose2d", "nn.Conv2d", "nn.Upsample", "torch.nn.Conv2d", "Foo",
         "nn.Sequential", "UpsamplingBilinear2d"]
KEYS = ["kernel_size", "stride", "padding", "output_padding", "dilation", "out_channels", "in_channels", "groups",
        "bias", "scale_factor", "mode", "align_corners", "upscale_factor", "negative_slope", "padding_mode", "size",
        "foo"]
INTS = st.one_of(st.integers(-3, 20), st.sampled_from([0, 64, 1000, 2**20, 2**20 + 1, 2**31, 2**63, 10**9]))
LITERALS = st.one_of(
    INTS.map(str),
    st.sampled_from(["1.5", "2.0", "1e9", "1e400", "3j", "'same'", "'valid'", "'bilinear'", "'x'", "''", "True",
                     "None", "[3, 3]", "{3: 3}", "k", "-(-3)", "2**3", "(3,)", "(3, 5)", "(1, 2, 3)"]),
)


@st.composite
def layer_text(draw):
    args = draw(st.lists(LITERALS, max_size=6))
    kwargs = draw(st.lists(st.tuples(st.sampled_from(KEYS), LITERALS), max_size=3))
    text = f"{draw(st.sampled_from(NAMES))}({', '.join(args + [f'{k}={v}' for k, v in kwargs])})"
    if draw(st.booleans()):
        text += f" * {draw(st.sampled_from(['0', '1', '2', '12', '40', '1000', '1001', '-1', '2.0', 'x']))}"
    return text


@st.composite
def valid_layer(draw):
    """A layer that exists, with parameters from tiny to over budget: the success paths and the budgets."""
    k, s, d = draw(st.integers(1, 9)), draw(st.integers(1, 5)), draw(st.sampled_from([1, 1, 1, 2, 3]))
    return draw(st.sampled_from([
        f"ConvTranspose2d({k}, stride={s}, padding={draw(st.integers(0, k))}, dilation={d})",
        f"Conv2d({k}, stride={draw(st.integers(1, 2))}, padding={draw(st.integers(0, 2))})",
        f"Conv2d({k}, padding='same', dilation={d})",
        f"Upsample({s}, mode='{draw(st.sampled_from(['nearest', 'bilinear']))}')",
        f"PixelShuffle({draw(st.integers(1, 3))})", "ReLU()", f"LeakyReLU({draw(st.floats(-2, 2))})",
        f"ConvTranspose2d({draw(st.sampled_from([100, 5000, 10**6]))}, stride={s})",
    ]))


@st.composite
def valid_spec(draw):
    parts = [f"{draw(valid_layer())} * {draw(st.sampled_from([1, 1, 2, 6, 12, 30]))}"
             for _ in range(draw(st.integers(1, 3)))]
    return ", ".join(parts)


@st.composite
def damaged_spec(draw):
    text = ", ".join(draw(st.lists(layer_text(), min_size=1, max_size=5)))
    for _ in range(draw(st.integers(0, 3))):  # character-level damage
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(list("()[]{},*=-.'\"\\ 09\n\t") + ["\x00", "\udcff", "**", "(" * 70,
                                                                                    "lambda:", "é"])) + text[i:]
    return text


def spec_text():
    return st.one_of(valid_spec(), damaged_spec())


JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), INTS, st.floats(allow_nan=True),
                                     st.text(string.printable, max_size=12)),
                           lambda children: st.lists(children, max_size=3) | st.dictionaries(
                               st.sampled_from(KEYS + ["type"]), children, max_size=3), max_leaves=8)


@st.composite
def config_file(draw):
    data = {"schema_version": 1, "spec": "ConvTranspose2d(3, stride=2) * 2, ReLU()",
            "stack": [{"type": "ConvTranspose2d", "kernel_size": 3, "stride": 2}] * 2 + [{"type": "ReLU"}],
            "input_size": [8, 8], "simulation": {"input": "constant", "draws": 1}}
    where = draw(st.sampled_from(["layer", "top", "simulation", "spec", "drop"]))
    if where == "layer":
        data["stack"] = [dict(layer) for layer in data["stack"]]
        data["stack"][draw(st.integers(0, 2))][draw(st.sampled_from(KEYS + ["type"]))] = draw(JSON_VALUES)
        data.pop("spec")
    elif where == "top":
        data[draw(st.sampled_from(["input_size", "schema_version", "stack", "simulation", "extra"]))] = \
            draw(JSON_VALUES)
    elif where == "simulation":
        data["simulation"][draw(st.sampled_from(["input", "brightness", "in_channels", "init", "bias",
                                                   "bias_value", "seed", "draws", "x"]))] = draw(JSON_VALUES)
    elif where == "spec":
        data["spec"] = draw(spec_text())
        data.pop("stack")
    else:
        data.pop(draw(st.sampled_from(sorted(data))))
    return json.dumps(data)


@st.composite
def command(draw):
    cmd = draw(st.sampled_from(["analyze", "analyze", "simulate", "formula"]))
    files = {}
    if draw(st.booleans()):
        files["c.json"] = draw(config_file())
        target = "{dir}/c.json"
    else:
        target = draw(spec_text())
    argv = [cmd, target]
    if cmd != "formula" and draw(st.booleans()):
        argv += ["--input-size", *draw(st.tuples(*[st.sampled_from(["1", "3", "16", "0", "-2", "x", "4096"])] * 2))]
    if cmd == "analyze" and draw(st.booleans()):
        argv.append("--json")
    if cmd == "simulate" and draw(st.booleans()):
        argv += [draw(st.sampled_from(["--bias", "--seed", "--draws", "--brightness", "--init"])),
                 draw(st.sampled_from(["0.5", "-1", "2", "random", "nan", "ones", "1e9"]))]
    return argv, files


#: CHECKERLAB_FUZZ_EXAMPLES=5000 fuzzes longer (the suite runs 60).
@settings(max_examples=int(os.environ.get("CHECKERLAB_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=command())
def test_generated_inputs_keep_the_contract(sandbox, generated):
    argv, files = generated
    result = sandbox.run(argv, files)
    event(f"{argv[0]} exit {result['code']}")
    assert contract_violation(result) is None, (contract_violation(result), argv, files, result)
