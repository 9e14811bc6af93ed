"""Presets: real upsampling architectures as ready-to-run configs (stack, input size, simulation settings).

Each preset is the upsampling path of a published network, scaled down in channels so that it simulates
interactively; the geometry (kernel, stride, padding) that decides the overlap pattern is the original's.

    >>> from checkerlab.analytics.presets import get_preset
    >>> get_preset("dcgan-k3s2").config.stack.output_size((32, 32))
    (256, 256)
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config, SimulationSettings
from .errors import CheckerlabError, excerpt


@dataclass(frozen=True)
class Preset:
    """A named config with a one-line description and the paper it comes from."""

    key: str
    title: str
    description: str
    reference: str
    config: Config


def _sim(**kw) -> SimulationSettings:
    base = dict(input="natural", brightness=1.0, in_channels=3, init="kaiming_uniform", bias="zero", seed=0,
                draws=4)
    return SimulationSettings(**{**base, **kw})


def _ct(k, s=2, p=0, op=0, ch=None, **kw) -> str:
    args = [str(k), f"stride={s}"] + ([f"padding={p}"] if p else [])
    args += [f"output_padding={op}"] if op else []
    args += [f"out_channels={ch}"] if ch else []
    args += [f"{k_}={v!r}" for k_, v in kw.items()]
    return f"ConvTranspose2d({', '.join(args)})"


_PRESETS = [
    Preset("dcgan-k3s2", "DCGAN-like generator, k=3 s=2 (default)",
           "Three stride-2 transposed convolutions with kernel 3: the kernel is not a multiple of the "
           "stride, so each layer's overlap alternates 2, 1 per axis and the checkerboard compounds to "
           "period 8.",
           "Radford, Metz & Chintala 2016; Odena, Dumoulin & Olah, Distill 2016",
           Config(", ".join([_ct(3, 2, 1, 1, 16), "ReLU()", _ct(3, 2, 1, 1, 8), "ReLU()",
                             _ct(3, 2, 1, 1, 3), "Tanh()"]),
                  (32, 32), _sim())),
    Preset("dcgan", "DCGAN generator, k=4 s=2 p=1",
           "The original DCGAN upsampling path: kernel 4 is a multiple of stride 2, so the overlap is even; "
           "random weights still give each phase its own sum.",
           "Radford, Metz & Chintala 2016",
           Config(", ".join([_ct(4, 2, 1, ch=32), "ReLU()", _ct(4, 2, 1, ch=16), "ReLU()",
                             _ct(4, 2, 1, ch=8), "ReLU()", _ct(4, 2, 1, ch=3), "Tanh()"]),
                  (16, 16), _sim())),
    Preset("pix2pix", "pix2pix / U-Net decoder",
           "The U-Net decoder of pix2pix: k=4 s=2 p=1 transposed convolutions with ReLU, ending in Tanh "
           "(skip connections are not modelled).",
           "Isola et al. 2017; Ronneberger, Fischer & Brox 2015",
           Config(", ".join([_ct(4, 2, 1, ch=32), "ReLU()", _ct(4, 2, 1, ch=32), "ReLU()",
                             _ct(4, 2, 1, ch=16), "ReLU()", _ct(4, 2, 1, ch=8), "ReLU()",
                             _ct(4, 2, 1, ch=3), "Tanh()"]),
                  (8, 8), _sim())),
    Preset("espcn", "ESPCN sub-pixel convolution (random init)",
           "Conv layers at low resolution, then PixelShuffle(2): each of the 4 output phases comes from its "
           "own sub-kernel, so random initialisation paints a period-2 checkerboard.",
           "Shi et al. 2016",
           Config("Conv2d(5, padding=2, out_channels=32), Tanh(), Conv2d(3, padding=1, out_channels=16), "
                  "Tanh(), Conv2d(3, padding=1, out_channels=12), PixelShuffle(2)",
                  (64, 64), _sim())),
    Preset("espcn-icnr", "ESPCN sub-pixel convolution with ICNR",
           "The same network initialised with ICNR: the 4 sub-kernels start equal, which is "
           "nearest-neighbour upsampling followed by a convolution, so the output starts checkerboard-free.",
           "Aitken et al. 2017",
           Config("Conv2d(5, padding=2, out_channels=32), Tanh(), Conv2d(3, padding=1, out_channels=16), "
                  "Tanh(), Conv2d(3, padding=1, out_channels=12), PixelShuffle(2)",
                  (64, 64), _sim(init="icnr"))),
    Preset("resize-conv", "Resize-convolution (nearest + conv)",
           "Nearest-neighbour upsampling followed by a 3x3 convolution, three times: every output pixel gets "
           "the same number of contributions, the fix recommended by Distill.",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("Upsample(2), Conv2d(3, padding=1, out_channels=16), ReLU(), "
                  "Upsample(2), Conv2d(3, padding=1, out_channels=8), ReLU(), "
                  "Upsample(2), Conv2d(3, padding=1, out_channels=3), Tanh()",
                  (32, 32), _sim())),
    Preset("stylegan", "StyleGAN-style upsample + blur",
           "Bilinear upsampling (zero insertion then the [1,3,3,1] binomial blur) before each 3x3 "
           "convolution: the blur contains the zero-order hold 1 + z, so the period-2 artifact vanishes.",
           "Karras, Laine & Aila 2019; Zhang 2019",
           Config("Upsample(2, mode='bilinear'), Conv2d(3, padding=1, out_channels=16), LeakyReLU(0.2), "
                  "Upsample(2, mode='bilinear'), Conv2d(3, padding=1, out_channels=8), LeakyReLU(0.2), "
                  "Upsample(2, mode='bilinear'), Conv2d(3, padding=1, out_channels=3)",
                  (32, 32), _sim())),
    Preset("fcn8s", "FCN-8s upsampling (bilinear-initialised deconvolution)",
           "FCN-8s: two k=4 s=2 and one k=16 s=8 transposed convolutions, per class (groups = channels) and "
           "initialised to bilinear interpolation.",
           "Long, Shelhamer & Darrell 2015",
           Config(", ".join([_ct(4, 2, 1, groups=3), _ct(4, 2, 1, groups=3), _ct(16, 8, 4, groups=3)]),
                  (8, 8), _sim(init="bilinear"))),
    Preset("distill-k3s2", "Distill: deconvolution k=3 s=2",
           "The first example of 'Deconvolution and Checkerboard Artifacts': overlap 2, 1 per axis, a 2x2 "
           "checkerboard with contrast 4.",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("ConvTranspose2d(3, stride=2, padding=1, output_padding=1)", (32, 32),
                  _sim(input="constant"))),
    Preset("distill-stacked", "Distill: two stacked k=3 s=2 deconvolutions",
           "Stacking compounds the artifact: the overlap becomes 3, 2, 3, 1 per axis (period 4).",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2", (32, 32),
                  _sim(input="constant"))),
    Preset("distill-k4s2", "Distill: deconvolution k=4 s=2 (even overlap)",
           "Kernel size divisible by the stride: the overlap is even (2 everywhere), yet learned or random "
           "weights can still produce artifacts.",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("ConvTranspose2d(4, stride=2, padding=1)", (32, 32), _sim(input="constant"))),
    Preset("distill-k5s2", "Distill: deconvolution k=5 s=2",
           "Kernel 5 over stride 2: overlap 3, 2 per axis, a weaker checkerboard than k=3.",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("ConvTranspose2d(5, stride=2, padding=2, output_padding=1)", (32, 32),
                  _sim(input="constant"))),
    Preset("distill-resize", "Distill: resize-convolution",
           "Nearest-neighbour resize followed by a convolution: even overlap by construction.",
           "Odena, Dumoulin & Olah, Distill 2016",
           Config("Upsample(2), Conv2d(3, padding=1)", (32, 32), _sim(input="constant"))),
]

# The upsampling paths of the real architectures in tests/models (the model-import tests run the whole
# networks, skips included), as chains in the layer kinds real decoders use.
_MODEL_PRESETS = [
    Preset("dcgan-bn", "DCGAN generator with BatchNorm",
           "The DCGAN generator as published: ConvTranspose2d(4, 2, 1) + BatchNorm2d + ReLU, Tanh at the end. The "
           "overlap is even, but BatchNorm's per-channel gains and random weights give each phase its own sum.",
           "Radford, Metz & Chintala 2016",
           Config(", ".join([_ct(4, 2, 1, ch=32), "BatchNorm2d()", "ReLU()", _ct(4, 2, 1, ch=16), "BatchNorm2d()",
                             "ReLU()", _ct(4, 2, 1, ch=3), "Tanh()"]), (8, 8), _sim())),
    Preset("pix2pix-resnet-up", "pix2pix / CycleGAN ResNet generator, upsampling path",
           "Two ConvTranspose2d(3, 2, padding=1, output_padding=1) with InstanceNorm and ReLU, then the 7x7 "
           "reflection-padded head: kernel 3 over stride 2 paints Distill's [3, 2, 3, 1] per axis, which the head "
           "smooths but does not remove.",
           "Isola et al. 2017; Zhu et al. 2017",
           Config(", ".join([_ct(3, 2, 1, 1, 16), "InstanceNorm2d()", "ReLU()", _ct(3, 2, 1, 1, 8),
                             "InstanceNorm2d()", "ReLU()", "ReflectionPad2d(3)", "Conv2d(7, out_channels=3)",
                             "Tanh()"]), (16, 16), _sim())),
    Preset("sd-vae-up", "Stable Diffusion VAE decoder, upsampling path",
           "GroupNorm, SiLU, nearest x2 then a 3x3 convolution, twice (the resnets' residuals are left out): the "
           "resize-convolution recipe, even by construction.",
           "Rombach et al. 2022 (the diffusers AutoencoderKL decoder)",
           Config("Conv2d(3, padding=1, out_channels=32), GroupNorm(8), SiLU(), Upsample(2), "
                  "Conv2d(3, padding=1, out_channels=32), GroupNorm(8), SiLU(), Upsample(2), "
                  "Conv2d(3, padding=1, out_channels=3)", (16, 16), _sim())),
    Preset("stylegan2-blur", "StyleGAN2 up block: transposed conv + [1,3,3,1] blur",
           "ConvTranspose2d(3, stride 2) followed by upfirdn2d's normalised [1, 3, 3, 1] binomial (gain 4, pad 1): "
           "the blur contains the zero-order hold 1 + z, so the kernel-3 pattern becomes even.",
           "Karras et al. 2020 (StyleGAN2); NVlabs upfirdn2d",
           Config(", ".join([_ct(3, 2, ch=16), "Upfirdn2d([1, 3, 3, 1], padding=1, gain=4, normalize=True)",
                             "LeakyReLU(0.2)", "Conv2d(3, padding=1, out_channels=16)", "LeakyReLU(0.2)",
                             _ct(3, 2, ch=3), "Upfirdn2d([1, 3, 3, 1], padding=1, gain=4, normalize=True)"]),
                  (8, 8), _sim())),
    Preset("edsr-up", "EDSR x4 upsampler (sub-pixel convolutions)",
           "EDSR's tail: Conv2d(3) to 4C channels and PixelShuffle(2), twice, then a 3x3 convolution: even counts, "
           "random sub-kernels paint period 4.",
           "Lim et al. 2017",
           Config("Conv2d(3, padding=1, out_channels=64), PixelShuffle(2), Conv2d(3, padding=1, out_channels=64), "
                  "PixelShuffle(2), Conv2d(3, padding=1, out_channels=3)", (16, 16), _sim())),
    Preset("unet-maxpool", "U-Net encoder-decoder path (skips left out)",
           "MaxPool2d(2) down, ConvTranspose2d(2, stride 2) up, 3x3 convolutions with BatchNorm and ReLU: kernel 2 "
           "over stride 2 is even; the max pooling keeps the count's maximum per window.",
           "Ronneberger, Fischer & Brox 2015 (milesial/Pytorch-UNet)",
           Config("Conv2d(3, padding=1, out_channels=8), BatchNorm2d(), ReLU(), MaxPool2d(2), "
                  "Conv2d(3, padding=1, out_channels=16), BatchNorm2d(), ReLU(), ConvTranspose2d(2, stride=2, "
                  "out_channels=8), Conv2d(3, padding=1, out_channels=8), BatchNorm2d(), ReLU(), "
                  "Conv2d(1, out_channels=2)", (32, 32), _sim())),
]

#: key -> Preset, in menu order.
PRESETS: dict[str, Preset] = {p.key: p for p in _PRESETS}
#: Real architectures' upsampling paths in the layer kinds real decoders use (norms, SiLU, pads, pools, FIR).
MODEL_PRESETS: dict[str, Preset] = {p.key: p for p in _MODEL_PRESETS}
#: The example `make run` and `checkerlab gui` open: a clear, compounding checkerboard.
DEFAULT_PRESET = "dcgan-k3s2"


def preset_names() -> list[str]:
    """The preset keys, in menu order (the classic examples, then the real architectures)."""
    return [*PRESETS, *MODEL_PRESETS]


def find_preset(name: str) -> Preset | None:
    """The preset with key (or title) `name`, case-insensitive, or None."""
    wanted = str(name).strip().lower()
    for preset in (*PRESETS.values(), *MODEL_PRESETS.values()):
        if wanted in (preset.key, preset.title.lower()):
            return preset
    return None


def get_preset(name: str) -> Preset:
    """The preset with key (or title) `name`, case-insensitive; CheckerlabError lists the keys otherwise."""
    preset = find_preset(name)
    if preset is None:
        raise CheckerlabError(f"unknown preset {excerpt(name)}; available: {', '.join(preset_names())}")
    return preset


def default_config() -> Config:
    """The config of `DEFAULT_PRESET`."""
    return PRESETS[DEFAULT_PRESET].config
