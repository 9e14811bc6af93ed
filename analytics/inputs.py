"""Simulation inputs: constant, noise, gradients, a procedural natural-looking image, or a decoded image.

Every kind is first built with values in [0, 1] (1 is a full-intensity, "white" pixel) and then multiplied by
`brightness`: a constant input is `brightness` everywhere, and no pixel of any kind exceeds `brightness`.
Image *files* are decoded by the app layer (app/images.py, Qt); here an image is an already-decoded array.
"""

from __future__ import annotations

import math

import numpy as np

from .config import INPUT_KINDS
from .errors import CheckerlabError
from .stack import _size_pair

#: Stream tag that keeps input randomness independent of the weight draws made with the same seed.
_INPUT_STREAM = 0x1A9E7
#: ITU-R BT.601 luma weights, used to turn an RGB image into one channel.
_LUMA = np.array([0.299, 0.587, 0.114])


def make_input(kind: str, size, channels: int = 3, brightness: float = 1.0, seed: int = 0,
               image: np.ndarray | None = None, dtype=np.float32) -> np.ndarray:
    """A (channels, H, W) input of the given kind, values in [0, brightness].

    kind: 'constant' (brightness everywhere), 'noise' (i.i.d. uniform on [0, 1)), 'gradient' (linear ramps
    0 -> 1, channel c at angle (pi/2) c/(C-1): horizontal first, vertical last), 'natural' (1/f noise plus a
    few soft-edged shapes, rescaled to exactly [0, 1]; see `natural_image`) or 'image' (`image`, resized with
    `resize_image` and converted with `convert_channels`). Random kinds are deterministic given `seed`.
    """
    if kind not in INPUT_KINDS:
        raise CheckerlabError(f"input kind {kind!r} must be one of {', '.join(INPUT_KINDS)}")
    h, w = _size_pair(size)
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise CheckerlabError(f"channels={channels!r} must be an integer >= 1")
    if isinstance(brightness, bool) or not isinstance(brightness, (int, float, np.number)) \
            or not math.isfinite(brightness) or brightness < 0:
        raise CheckerlabError(f"brightness={brightness!r} must be a finite number >= 0")
    channels = int(channels)
    if kind == "image":
        if image is None:
            raise CheckerlabError("input 'image' needs an image array (decode the file with "
                                  "app.images.load_image)")
        unit = convert_channels(resize_image(image_to_chw(image), (h, w)), channels)
    elif image is not None:
        raise CheckerlabError(f"an image array was given but the input kind is {kind!r}, not 'image'")
    elif kind == "constant":
        unit = np.ones((channels, h, w))
    elif kind == "noise":
        unit = _rng(seed).random((channels, h, w))
    elif kind == "gradient":
        unit = gradient_image((h, w), channels)
    else:
        unit = natural_image((h, w), channels, seed)
    out = np.multiply(unit, brightness, dtype=np.float64)
    return np.ascontiguousarray(out, dtype=dtype)


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise CheckerlabError(f"seed={seed!r} must be an integer >= 0")
    return np.random.default_rng(np.random.SeedSequence([_INPUT_STREAM, int(seed)]))


def _unit_range(v: np.ndarray) -> np.ndarray:
    """Rescale to exactly [0, 1] (min -> 0, max -> 1); a flat array becomes all ones."""
    lo, hi = float(v.min()), float(v.max())
    return (v - lo) / (hi - lo) if hi > lo else np.ones_like(v)


def gradient_image(size, channels: int = 3) -> np.ndarray:
    """Linear ramps from 0 to 1: channel c runs along the direction at angle (pi/2) c / (C - 1)."""
    h, w = _size_pair(size)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((channels, h, w))
    for c in range(channels):
        angle = 0.5 * math.pi * c / max(channels - 1, 1)
        cos, sin = (0.0 if abs(v) < 1e-12 else v for v in (math.cos(angle), math.sin(angle)))  # exact axes
        out[c] = _unit_range(cos * x + sin * y)
    return out


def natural_image(size, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A procedural natural-looking image in [0, 1]: 1/f noise (power spectrum ~ 1/f^2, like photographs),
    shared by all channels with a weaker per-channel component, under 3-6 soft-edged ellipses of random
    colour; rescaled jointly so that min = 0 and max = 1. Deterministic given `seed`."""
    h, w = _size_pair(size)
    rng = _rng(seed)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0 / max(h, w)
    amplitude = 1.0 / f

    def pink() -> np.ndarray:
        field = np.fft.ifft2(np.fft.fft2(rng.standard_normal((h, w))) * amplitude).real
        field -= field.mean()
        sd = field.std()
        return field / sd if sd > 0 else field

    luminance = pink()
    img = np.stack([0.5 + 0.15 * luminance + 0.05 * pink() for _ in range(channels)])
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    scale = max(h, w)
    for _ in range(int(rng.integers(3, 7))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.08, 0.3, size=2) * scale
        theta = rng.uniform(0, math.pi)
        dy, dx = y - cy, x - cx
        u = (dx * math.cos(theta) + dy * math.sin(theta)) / rx
        v = (-dx * math.sin(theta) + dy * math.cos(theta)) / ry
        r = np.sqrt(u * u + v * v)
        mask = 0.5 * (1 - np.tanh((r - 1) / 0.08))  # a soft edge about 8% of the radius wide
        colour = rng.uniform(0.1, 0.9) + rng.uniform(-0.15, 0.15, size=channels)
        img += mask * (colour[:, None, None] - img) * rng.uniform(0.6, 0.9)
    return _unit_range(img)


def image_to_chw(image: np.ndarray) -> np.ndarray:
    """A decoded image as (C, H, W) float64 in [0, 1].

    Layouts: (H, W); (H, W, C) when the last axis has 1, 3 or 4 entries and the first does not; (C, H, W)
    otherwise. 4 channels are RGBA: alpha is dropped. Integer images are divided by their dtype's maximum
    (255 for uint8); float images must already lie in [0, 1]."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[-1] in (1, 3, 4) and a.shape[0] not in (1, 3, 4):
        a = np.moveaxis(a, -1, 0)
    elif a.ndim != 3:
        raise CheckerlabError(f"an image must be (H, W), (H, W, C) or (C, H, W), got shape {a.shape}")
    if min(a.shape) < 1:
        raise CheckerlabError(f"the image is empty: shape {a.shape}")
    if a.shape[0] == 4:
        a = a[:3]
    if a.dtype == bool:
        return a.astype(np.float64)
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        if info.min < 0 and a.min() < 0:
            raise CheckerlabError("an integer image must not have negative values")
        return a.astype(np.float64) / info.max
    if not np.issubdtype(a.dtype, np.floating):
        raise CheckerlabError(f"an image must be an integer or float array, got {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise CheckerlabError("a float image must have finite values in [0, 1] "
                              f"(got {np.nanmin(a):.4g}..{np.nanmax(a):.4g})")
    return a


def resampling_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1D resampling: exact area averaging when shrinking (output o averages the
    input interval [o n_in/n_out, (o+1) n_in/n_out), partial pixels weighted by their overlap), bilinear
    interpolation with PyTorch's align_corners=False rule when enlarging, the identity when equal.
    Every row sums to 1."""
    if n_out == n_in:
        return np.eye(n_in)
    if n_out < n_in:  # in units of 1/(n_in * n_out): input i covers [i n_out, (i+1) n_out)
        o = np.arange(n_out)[:, None]
        i = np.arange(n_in)[None, :]
        overlap = np.minimum((o + 1) * n_in, (i + 1) * n_out) - np.maximum(o * n_in, i * n_out)
        return np.maximum(overlap, 0) / n_in
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    frac = src - i0
    i1 = np.minimum(i0 + 1, n_in - 1)
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(m, (rows, i0), 1 - frac)
    np.add.at(m, (rows, i1), frac)
    return m


def resize_image(image: np.ndarray, size) -> np.ndarray:
    """Resize a (C, H, W) array to `size` = (H', W'), separably with `resampling_matrix` per axis."""
    h, w = _size_pair(size)
    a = np.asarray(image, dtype=np.float64)
    if a.shape[1:] == (h, w):
        return a
    rows, cols = resampling_matrix(a.shape[1], h), resampling_matrix(a.shape[2], w)
    return np.matmul(np.matmul(rows, a), cols.T)


def convert_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(C, H, W) -> (channels, H, W): unchanged if equal; RGB -> 1 channel by BT.601 luma; otherwise output
    channel c copies image channel c mod C (a grey image is replicated)."""
    c = image.shape[0]
    if c == channels:
        return image
    if channels == 1 and c == 3:
        return np.tensordot(_LUMA, image, axes=1)[None]
    return image[np.arange(channels) % c]
