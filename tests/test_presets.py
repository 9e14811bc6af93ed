"""Presets: every one is a valid, simulatable config that round-trips through JSON and the stack editor."""

import pytest

from checkerlab.analytics import CheckerlabError, load_config, overlap_pattern, save_config
from checkerlab.analytics.presets import (
    DEFAULT_PRESET,
    MODEL_PRESETS,
    PRESETS,
    default_config,
    get_preset,
    preset_names,
)


def test_the_issue_lists_these_architectures():
    titles = " ".join(p.title.lower() for p in PRESETS.values())
    for word in ("dcgan", "pix2pix", "espcn", "icnr", "resize-convolution", "stylegan", "fcn", "distill"):
        assert word in titles
    assert preset_names() == [*PRESETS, *MODEL_PRESETS]  # the classic examples, then the real architectures
    assert DEFAULT_PRESET in PRESETS


@pytest.mark.parametrize("key", list(PRESETS))
def test_preset_is_valid_and_round_trips(key, tmp_path):
    preset = PRESETS[key]
    config = preset.config
    assert preset.description and preset.reference
    config.stack.shapes((config.simulation.in_channels, *config.input_size))  # simulatable: raises otherwise
    path = tmp_path / f"{key}.json"
    save_config(config, path)
    assert load_config(path) == config


@pytest.mark.parametrize("key", list(PRESETS))
def test_preset_round_trips_through_the_stack_editor_rows(key):
    from checkerlab.app.gui.state import state_from_config, validate

    config = PRESETS[key].config
    v = validate(state_from_config(config))
    assert v.ok, v.message
    assert v.config == config


def test_default_example_shows_a_clear_checkerboard():
    config = default_config()
    pattern = overlap_pattern(config.stack)
    assert pattern.period == (8, 8)
    assert not pattern.is_even
    assert pattern.axes[0].tile.tolist() == [1, 4, 3, 5, 2, 5, 3, 4]  # three k=3 s=2 layers, per axis
    assert pattern.contrast == 25
    assert config.simulation.input == "natural" and config.simulation.brightness >= 1
    assert config.stack.output_size(config.input_size) == (256, 256)


def test_known_patterns_of_the_literature_presets():
    assert overlap_pattern(get_preset("distill-k3s2").config.stack).axes[0].tile.tolist() == [1, 2]
    assert overlap_pattern(get_preset("distill-stacked").config.stack).axes[0].tile.tolist() == [1, 3, 2, 3]
    for even in ("distill-k4s2", "distill-resize", "resize-conv", "stylegan", "dcgan"):
        assert overlap_pattern(get_preset(even).config.stack).is_even, even
    assert get_preset("espcn-icnr").config.simulation.init == "icnr"
    assert get_preset("fcn8s").config.simulation.init == "bilinear"


def test_lookup_by_key_or_title_and_errors():
    assert get_preset("DCGAN-k3s2") is get_preset(PRESETS["dcgan-k3s2"].title)
    with pytest.raises(CheckerlabError, match="unknown preset 'nope'; available: dcgan-k3s2"):
        get_preset("nope")
