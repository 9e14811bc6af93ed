"""Simulation inputs: kinds, brightness, determinism, image layouts, resampling and channel conversion."""

import numpy as np
import pytest

from checkerlab.analytics import CheckerlabError, make_input
from checkerlab.analytics.config import INPUT_KINDS
from checkerlab.analytics.inputs import convert_channels, image_to_chw, resampling_matrix, resize_image

IMAGE = np.arange(2 * 6 * 8, dtype=np.float64).reshape(2, 6, 8) / 95


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_every_kind_has_the_shape_dtype_and_range(kind):
    image = np.random.default_rng(0).random((3, 40, 50)) if kind == "image" else None
    x = make_input(kind, (24, 20), channels=3, brightness=2.5, seed=1, image=image)
    assert x.shape == (3, 24, 20) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x.min() >= 0 and x.max() <= 2.5 * (1 + 1e-7)


def test_constant_is_brightness_everywhere():
    x = make_input("constant", 5, channels=2, brightness=0.25)
    np.testing.assert_array_equal(x, np.full((2, 5, 5), 0.25))
    assert make_input("constant", (3, 4), channels=1, brightness=0).max() == 0


@pytest.mark.parametrize("kind", ["gradient", "natural"])
def test_full_range_kinds_reach_exactly_the_brightness(kind):
    x = make_input(kind, (33, 47), channels=3, brightness=3.0, seed=5, dtype=np.float64)
    assert x.min() == 0 and x.max() == pytest.approx(3.0, abs=1e-12)


def test_brightness_scales_linearly():
    a = make_input("natural", 32, brightness=1.0, seed=3, dtype=np.float64)
    b = make_input("natural", 32, brightness=0.1, seed=3, dtype=np.float64)
    np.testing.assert_allclose(b, 0.1 * a, rtol=1e-12)


@pytest.mark.parametrize("kind", ["noise", "natural"])
def test_random_kinds_are_deterministic_per_seed(kind):
    a, b = make_input(kind, 32, seed=7), make_input(kind, 32, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_input(kind, 32, seed=8))


def test_noise_is_uniform_and_independent_of_the_weight_stream():
    x = make_input("noise", 128, channels=3, seed=0, dtype=np.float64)
    assert abs(x.mean() - 0.5) < 0.01 and abs(x.var() - 1 / 12) < 0.005
    weights_stream = np.random.default_rng(0).uniform(0, 1, 10)
    assert not np.allclose(x.ravel()[:10], weights_stream)


def test_gradient_directions():
    g = make_input("gradient", (4, 5), channels=3, dtype=np.float64)
    np.testing.assert_allclose(g[0], np.tile(np.arange(5) / 4, (4, 1)))  # horizontal
    np.testing.assert_allclose(g[2], np.tile(np.arange(4)[:, None] / 3, (1, 5)))  # vertical
    assert np.all(np.diff(g[1], axis=0) > 0) and np.all(np.diff(g[1], axis=1) > 0)  # diagonal


def test_natural_image_looks_natural():
    """Smooth (strong neighbour correlation), power mostly at low frequencies, channels correlated."""
    x = make_input("natural", 128, channels=3, seed=0, dtype=np.float64)
    c = x[0] - x[0].mean()
    assert np.mean(c[:, 1:] * c[:, :-1]) / np.mean(c * c) > 0.8
    power = np.abs(np.fft.fft2(c)) ** 2
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(128), np.fft.fftfreq(128), indexing="ij"))
    assert power[(f > 0) & (f < 0.05)].sum() > 5 * power[f > 0.25].sum()
    assert np.corrcoef(x[0].ravel(), x[1].ravel())[0, 1] > 0.5


def test_image_layouts_and_integer_scaling():
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    expected = rgb.transpose(2, 0, 1) / 255
    np.testing.assert_allclose(image_to_chw(rgb), expected)
    np.testing.assert_allclose(image_to_chw(expected), expected)
    rgba = np.concatenate([rgb, np.full((6, 8, 1), 255, np.uint8)], axis=2)
    np.testing.assert_allclose(image_to_chw(rgba), expected)
    np.testing.assert_allclose(image_to_chw(rgb[..., 0]), expected[:1])
    assert image_to_chw(np.full((2, 2), 65535, np.uint16)).max() == 1


def test_image_input_keeps_values_at_its_size_and_scales_by_brightness():
    x = make_input("image", (6, 8), channels=2, brightness=2.0, image=IMAGE, dtype=np.float64)
    np.testing.assert_allclose(x, 2 * IMAGE)


def test_area_downsampling_is_exact_block_averaging():
    img = np.random.default_rng(2).random((3, 12, 20))
    got = resize_image(img, (4, 5))
    np.testing.assert_allclose(got, img.reshape(3, 4, 3, 5, 4).mean(axis=(2, 4)))


def test_area_downsampling_with_a_fractional_ratio_weights_partial_pixels():
    m = resampling_matrix(3, 2)  # output 0 covers [0, 1.5), output 1 covers [1.5, 3)
    np.testing.assert_allclose(m, [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]])
    for n_in, n_out in [(7, 3), (100, 33), (5, 5), (4, 9), (3, 10)]:
        np.testing.assert_allclose(resampling_matrix(n_in, n_out).sum(axis=1), 1)


def test_bilinear_enlarging_matches_torch():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(3).random((2, 5, 7))
    got = resize_image(img, (13, 21))
    ref = torch.nn.functional.interpolate(torch.from_numpy(img)[None], size=(13, 21), mode="bilinear",
                                          align_corners=False)[0].numpy()
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_area_shrinking_matches_torch_adaptive_pooling_on_integer_ratios():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(4).random((3, 16, 24))
    ref = torch.nn.functional.interpolate(torch.from_numpy(img)[None], size=(8, 6), mode="area")[0].numpy()
    np.testing.assert_allclose(resize_image(img, (8, 6)), ref, atol=1e-12)


def test_channel_conversion():
    rgb = np.random.default_rng(5).random((3, 4, 4))
    np.testing.assert_allclose(convert_channels(rgb, 1)[0], 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    grey = rgb[:1]
    np.testing.assert_array_equal(convert_channels(grey, 3), np.repeat(grey, 3, axis=0))
    np.testing.assert_array_equal(convert_channels(rgb, 5), rgb[[0, 1, 2, 0, 1]])
    assert convert_channels(rgb, 3) is rgb


@pytest.mark.parametrize("call, match", [
    (lambda: make_input("fractal", 8), "must be one of"),
    (lambda: make_input("constant", 0), "input_size"),
    (lambda: make_input("constant", 8, channels=0), "channels"),
    (lambda: make_input("constant", 8, brightness=-1), "brightness"),
    (lambda: make_input("constant", 8, brightness=float("nan")), "brightness"),
    (lambda: make_input("noise", 8, seed=-1), "seed"),
    (lambda: make_input("image", 8), "needs an image"),
    (lambda: make_input("noise", 8, image=IMAGE), "not 'image'"),
    (lambda: make_input("image", 8, image=IMAGE * 2), r"\[0, 1\]"),
    (lambda: make_input("image", 8, image=np.zeros((2, 2, 2, 2))), "shape"),
])
def test_bad_arguments_raise_one_line_errors(call, match):
    with pytest.raises(CheckerlabError, match=match):
        call()
