"""Acceptance: real library models built from their configs with random weights (no downloads) import with
from_torch, simulate like torch, and their exact count map equals the brute-force count of the model.

diffusers, segmentation_models_pytorch and torchvision are optional: each check skips with a reason that
starts with "optional:" when its package is absent or cannot be imported (the index's torchvision is a CUDA
build that fails to import beside the CPU torch; smp imports torchvision).
"""

import importlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from naive_count import count_map  # noqa: E402

from checkerlab.analytics.network_pattern import network_map, network_pattern  # noqa: E402
from checkerlab.analytics.torch_import import from_torch  # noqa: E402


def _package(name):
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - ImportError, or torchvision's RuntimeError on the CPU torch
        pytest.skip(f"optional: {name} is not importable here ({type(exc).__name__}: {str(exc)[:80]})")


class _Decode(torch.nn.Module):
    """A VAE's decode(z).sample as a module of one input."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, z):
        return self.vae.decode(z).sample


def _diffusers(kind):
    diffusers = _package("diffusers")
    torch.manual_seed(0)
    if kind == "AutoencoderKL":
        vae = diffusers.AutoencoderKL(block_out_channels=(32, 64), layers_per_block=1, latent_channels=4,
                                      norm_num_groups=8, down_block_types=("DownEncoderBlock2D",) * 2,
                                      up_block_types=("UpDecoderBlock2D",) * 2)
        return _Decode(vae).eval(), (1, 4, 16, 16), {}
    if kind == "AutoencoderTiny":
        vae = diffusers.AutoencoderTiny(encoder_block_out_channels=(16,) * 4, decoder_block_out_channels=(16,) * 4,
                                        num_encoder_blocks=(1,) * 4, num_decoder_blocks=(1,) * 4)
        return _Decode(vae).eval(), (1, 4, 8, 8), {}
    unet = diffusers.UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
                                 block_out_channels=(16, 32), norm_num_groups=8,
                                 down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                                 up_block_types=("AttnUpBlock2D", "UpBlock2D"))
    return unet.eval(), (1, 3, 16, 16), {"timestep": 10}


def _smp(kind):
    smp = _package("segmentation_models_pytorch")
    torch.manual_seed(0)
    return getattr(smp, kind)(encoder_name="resnet18", encoder_weights=None, classes=2).eval(), (1, 3, 64, 64), {}


def _torchvision(kind):
    segmentation = _package("torchvision.models.segmentation")
    torch.manual_seed(0)
    if kind == "fcn_resnet50":
        m = segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=3, aux_loss=False)
    else:
        m = segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=3)
    return m.eval(), (1, 3, 64, 64), {}


MODELS = {
    "diffusers.AutoencoderKL.decode": lambda: _diffusers("AutoencoderKL"),
    "diffusers.AutoencoderTiny.decode": lambda: _diffusers("AutoencoderTiny"),
    "diffusers.UNet2DModel": lambda: _diffusers("UNet2DModel"),
    **{f"smp.{k}": (lambda k=k: _smp(k)) for k in ("Unet", "Linknet", "UnetPlusPlus", "FPN", "DeepLabV3Plus")},
    "torchvision.fcn_resnet50": lambda: _torchvision("fcn_resnet50"),
    "torchvision.lraspp_mobilenet_v3_large": lambda: _torchvision("lraspp"),
}


def _out(value):
    """The image a model returns: diffusers' .sample, torchvision's ["out"], or the tensor itself."""
    if hasattr(value, "sample"):
        return value.sample
    return value["out"] if isinstance(value, dict) else value


@pytest.mark.parametrize("name", list(MODELS))
def test_the_model_simulates_like_torch(name):
    module, shape, kwargs = MODELS[name]()
    net = from_torch(module, shape, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = _out(module(torch.from_numpy(x), **kwargs)).numpy()
    got = net.forward(x)
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize("name", list(MODELS))
def test_the_exact_map_equals_the_brute_force_count(name):
    module, shape, kwargs = MODELS[name]()
    module = _Bound(module, kwargs)
    net = from_torch(module, shape)
    want = count_map(module, shape).numpy()[0]
    assert np.all(np.isfinite(want))
    for (a, b), m in network_map(net):
        for c in range(a, b):
            np.testing.assert_allclose(np.asarray(m, dtype=float), want[c], rtol=1e-9, atol=0)
    assert network_pattern(net).kind == "spatial"


class _Bound(torch.nn.Module):
    """A module with constant extra forward arguments (the UNet's timestep), for the brute force."""

    def __init__(self, module, kwargs):
        super().__init__()
        self.module, self.kwargs = module, kwargs

    def forward(self, x):
        return _out(self.module(x, **self.kwargs))


@pytest.mark.parametrize("name", list(MODELS))
def test_the_model_imports_via_onnx_too(name, tmp_path):
    """torch.onnx.export of the model, then from_onnx: the same simulation and the same exact pattern."""
    import warnings

    pytest.importorskip("onnx")
    from checkerlab.analytics.onnx_import import from_onnx

    module, shape, kwargs = MODELS[name]()
    module = _Bound(module, kwargs).eval()
    path = tmp_path / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.randn(shape), str(path), dynamo=False, opset_version=17)
    net = from_onnx(path)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    assert np.abs(net.forward(x) - want).max() <= 1e-4 * np.abs(want).max()
    a, b = network_pattern(net), network_pattern(from_torch(module, shape))
    assert (a.kind, a.period, a.contrast) == (b.kind, b.period, b.contrast)
    assert [(g.channels, g.edge, g.tile.tolist()) for g in a.groups] == \
        [(g.channels, g.edge, g.tile.tolist()) for g in b.groups]
