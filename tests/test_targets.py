"""load_target: config file | preset name | layer spec -> Config, one resolution for every front end;
preflight: what analysing or simulating a config would refuse, found before the heavy work."""

import json

import pytest

from checkerlab.analytics import CheckerlabError, Config, ConfigError, SpecError, Stack, save_config
from checkerlab.analytics.presets import PRESETS
from checkerlab.analytics.targets import load_target, preflight


def test_a_spec_gets_the_default_settings():
    config = load_target("ConvTranspose2d(3, stride=2) * 2")
    assert config == Config(Stack("ConvTranspose2d(3, stride=2) * 2"))
    assert load_target("ReLU()", 7).input_size == (7, 7)
    assert load_target("ReLU()", (5, 9)).input_size == (5, 9)


@pytest.mark.parametrize("name", ["pix2pix", "PIX2PIX", " dcgan ", "pix2pix / U-Net decoder"])
def test_a_preset_name_is_its_config(name):
    key = name.strip().lower().split(" ")[0]
    assert load_target(name) == PRESETS[key].config
    assert load_target(name, (4, 4)) == PRESETS[key].config.replace(input_size=(4, 4))


def test_config_files_by_suffix_path_object_or_existence(tmp_path, monkeypatch):
    config = Config(Stack("Upsample(2), Conv2d(3, padding=1)"), (12, 10))
    save_config(config, tmp_path / "c.json")
    assert load_target(str(tmp_path / "c.json")) == config
    assert load_target(tmp_path / "c.json") == config  # a Path
    (tmp_path / "noext").write_text((tmp_path / "c.json").read_text())
    assert load_target(str(tmp_path / "noext")) == config  # an existing file, whatever its name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pix2pix").write_text("{}")
    assert load_target("pix2pix") == PRESETS["pix2pix"].config  # a preset name wins over a stray file
    with pytest.raises(ConfigError, match=r"missing\.json: cannot read: No such file"):
        load_target("missing.json")  # a .json name is never read as a spec


def test_symbols_and_passthrough():
    config = load_target("ConvTranspose2d(k, stride=s)", symbols=True)
    assert str(config.stack[0].kernel_size[0]) == "k"
    with pytest.raises(SpecError, match="'k' is not a literal value"):
        load_target("ConvTranspose2d(k, stride=s)")
    config = Config(Stack("ReLU()"), (3, 3))
    assert load_target(config) is config and load_target(config.stack) == Config(config.stack)
    assert load_target(config, 8).input_size == (8, 8)


@pytest.mark.parametrize("target, message", [
    ("ConvTranspose2d(3, stride=2) * 40", r"the pattern's period along H would be 131,072"),
    ("Conv2d(3, out_channels=4096) * 3", r"the simulation's work"),
    ("ConvTranspose2d(1000000)", r"exceeds the memory budget of 67,108,864 pixels"),
    ("Conv2d(5)", r"layer 0 \(Conv2d\): output would be empty"),
])
def test_preflight_finds_what_the_views_would_refuse(target, message):
    config = load_target(target, 3 if target == "Conv2d(5)" else None)
    with pytest.raises(CheckerlabError, match=message):
        preflight(config)


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_passes_preflight(key):
    preflight(PRESETS[key].config)


# Real upsampling paths at their real sizes (geometry only): the exact analysis runs for every one of them.
REAL_MODELS = {
    "DCGAN 1->64": ("ConvTranspose2d(100, 512, 4, 1, 0, bias=False), ReLU(), ConvTranspose2d(512, 256, 4, 2, 1), "
                    "ReLU(), ConvTranspose2d(256, 128, 4, 2, 1), ReLU(), ConvTranspose2d(128, 64, 4, 2, 1), ReLU(), "
                    "ConvTranspose2d(64, 3, 4, 2, 1), Tanh()", 1),
    "pix2pix 1->256": ("(ConvTranspose2d(4, stride=2, padding=1, out_channels=512), ReLU()) * 8", 1),
    "StyleGAN2 4->1024": ("(ConvTranspose2d(3, stride=2), Conv2d(4, padding=1), Conv2d(3, padding=1), "
                          "LeakyReLU(0.2)) * 8", 4),
    "SD-VAE decoder 64->512": ("Conv2d(3, padding=1, out_channels=512), Conv2d(3, padding=1) * 6, "
                               "(Upsample(2), Conv2d(3, padding=1) * 7) * 3, Conv2d(3, padding=1, out_channels=3)",
                               64),
}


@pytest.mark.parametrize("name", list(REAL_MODELS))
def test_real_models_fit_every_exact_budget(name):
    from checkerlab.analytics import overlap_map, overlap_pattern
    from checkerlab.analytics.overlap import check_map
    from checkerlab.analytics.presentation.data import to_dict

    spec, size = REAL_MODELS[name]
    config = load_target(spec, size)
    pattern = overlap_pattern(config.stack, config.input_size)
    json.dumps(to_dict(pattern))
    check_map(config.stack, config.input_size)
    out = overlap_map(config.stack, config.input_size)
    assert out.shape == pattern.output_size
