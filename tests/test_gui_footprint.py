"""The explanation's mathematics (app/gui/footprint.py), against the brute-force 2D layers of naive_overlap."""

from fractions import Fraction

import numpy as np
import pytest
from naive_overlap import brute_forward

from checkerlab.analytics import Stack, overlap_map
from checkerlab.app.gui.footprint import explain, footprints, stamps

STACKS = [
    "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2",
    "ConvTranspose2d(4, stride=2, padding=1), Conv2d(3, stride=2, padding=1), ReLU()",
    "ConvTranspose2d((3, 5), stride=(2, 3), dilation=(1, 2))",
    "Upsample(2), Conv2d(3, padding=1)",
    "Upsample(2, mode='bilinear'), ConvTranspose2d(3, stride=2)",
    "Conv2d(1, out_channels=4), PixelShuffle(2), Conv2d(2, padding='same')",
]


def one_hot(shape, q) -> np.ndarray:
    x = np.zeros(shape, dtype=object)
    x[...] = 0
    x[q] = 1
    return x


@pytest.mark.parametrize("spec", STACKS)
def test_path_counts_and_footprints_match_the_brute_force(spec):
    stack, size = Stack(spec), (5, 4)
    responses = {q: brute_forward(stack, one_hot(size, q)) for q in np.ndindex(size)}
    out_shape = next(iter(responses.values())).shape
    counts = overlap_map(stack, size)
    for pixel in [(0, 0), (out_shape[0] // 2, out_shape[1] // 2), (out_shape[0] - 1, out_shape[1] - 1)]:
        levels, _taps = explain(stack, size, pixel)
        weights = levels[0].weights()  # input pixels that feed `pixel`, with their path counts
        expected = np.array([[responses[(a, b)][pixel] for b in range(size[1])] for a in range(size[0])])
        assert all(Fraction(w) == Fraction(e) for w, e in zip(weights.ravel(), expected.ravel(), strict=True))
        assert Fraction(sum(weights.ravel(), Fraction(0))) == Fraction(counts[pixel])
    for q, response in responses.items():  # where each input pixel's kernel lands, through the whole stack
        rows, cols = np.nonzero(np.vectorize(lambda v: v != 0)(response))
        (rect,) = footprints(stack, size, [q])
        assert rect == (rows.min(), rows.max(), cols.min(), cols.max())


def test_taps_on_the_path_of_one_layer_are_its_overlap():
    stack = Stack("ConvTranspose2d(3, stride=2, padding=1, output_padding=1)")
    counts = overlap_map(stack, (8, 8))
    for pixel in [(4, 4), (4, 5), (5, 5)]:
        _levels, (taps,) = explain(stack, (8, 8), pixel)
        assert len(taps.rows) * len(taps.cols) == counts[pixel]  # one path per tap in the interior
        assert taps.rows == ((1,) if pixel[0] % 2 == 0 else (0, 2))


def test_the_scatter_stamps_add_up_to_the_exact_map():
    prefix, layer = Stack("ConvTranspose2d(3, stride=2)"), Stack("ConvTranspose2d(4, stride=2, padding=1)")
    x = overlap_map(prefix, (6, 5))
    rows, cols = stamps(layer[0].axis_op(0), layer[0].axis_op(1), x.shape)
    out = np.zeros(overlap_map(Stack(list(prefix) + list(layer)), (6, 5)).shape, dtype=np.int64)
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            out[np.ix_(rows[a], cols[b])] += x[a, b]
    np.testing.assert_array_equal(out, overlap_map(Stack(list(prefix) + list(layer)), (6, 5)))
