"""The 1D axis maps (analytics.axis): finite profiles against PyTorch's 2D ops on outer products, periodic
tiles against long profiles, border masks against perturbation, and the old engine's steps."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkerlab.analytics import axis
from checkerlab.analytics.exact import period_step, profile_step
from checkerlab.analytics.layers import AxisOp
from checkerlab.analytics.layers.fir import Upfirdn2d
from checkerlab.analytics.layers.pad import CircularPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from checkerlab.analytics.layers.pool import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from checkerlab.analytics.layers.resample import Upsample
from checkerlab.analytics.metrics import _dirty_step
from checkerlab.analytics.network import axis_maps


def _value(signal):
    num, den = signal
    return np.array([Fraction(int(v), den) for v in np.ravel(num)], dtype=object).reshape(np.shape(num))


def _profile(maps, x):
    s = (np.asarray(x, np.int64), 1)
    for m in maps:
        s = m.profile(s)
    return _value(s)


def _tile(maps, c):
    s = (np.asarray(c, np.int64), 1)
    for m in maps:
        s = m.tile(s)
    return _value(s)


OLD = st.builds(lambda kind, k, s, d, pb, pa: AxisOp(kind, k, s, pb, pa if kind != "transposed" else pb - pa % s, d),
                st.sampled_from(["transposed", "conv", "repeat", "linear"]), st.integers(1, 6), st.integers(1, 4),
                st.integers(1, 3), st.integers(0, 4), st.integers(0, 4))


@settings(max_examples=300, deadline=None)
@given(op=OLD, n=st.integers(1, 20), data=st.data())
def test_old_kinds_equal_the_stack_engine(op, n, data):
    """Every AxisOp kind of the stack engine gives the same profile and tile as its axis map."""
    from checkerlab.analytics.layers import ConvTranspose2d

    if op.output_length(n) < 1 or op.kind == "linear" and op.stride == 1:
        return
    if op.kind == "transposed" and op.pad_before - op.pad_after >= max(op.stride, op.dilation):
        return
    m = {"transposed": lambda: axis.Transposed.make(op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation),
         "conv": lambda: axis.Convolution.make(op.kernel, op.stride, op.pad_before, op.pad_after, op.dilation),
         "repeat": lambda: axis.Resample.make("nearest", Fraction(1, op.stride)),
         "linear": lambda: axis.Resample.make("linear", Fraction(1, op.stride))}[op.kind]()
    x = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)), np.int64)
    num, den = profile_step(op, x, 1)
    assert m.output_length(n) == op.output_length(n)
    assert list(_profile([m], x)) == [Fraction(int(v), den) for v in num]
    c = np.array(data.draw(st.lists(st.integers(0, 9), min_size=1, max_size=6)), np.int64)
    tnum, tden = period_step(op, c, 1)
    mine = _tile([m], c)
    period = np.lcm(len(mine), len(tnum))
    assert [mine[i % len(mine)] for i in range(period)] == [Fraction(int(tnum[i % len(tnum)]), tden)
                                                            for i in range(period)]
    dirty = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if op.kind != "linear":  # the axis map ignores zero-weight bilinear taps: a finer mask
        assert np.array_equal(m.dirty(dirty), _dirty_step(op, dirty))
    else:
        assert not np.any(m.dirty(dirty) & ~_dirty_step(op, dirty))
    del ConvTranspose2d


NEW_LAYERS = [
    ZeroPad2d((2, 1, 3, 0)), ZeroPad2d((-1, 2, 1, -2)), ReflectionPad2d((2, 1, 3, 2)), ReplicationPad2d(3),
    CircularPad2d((1, 2, 2, 1)), AvgPool2d(3, 2, 1), AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False),
    AvgPool2d(2, divisor_override=3), AvgPool2d((3, 2), (2, 1), (1, 0), ceil_mode=True), MaxPool2d(3, 2, 1),
    MaxPool2d(2, 2, 0, 2, True), AdaptiveAvgPool2d((5, 3)), AdaptiveAvgPool2d(7),
    Upsample(scale_factor=2), Upsample(scale_factor=3, mode="bilinear"), Upsample(size=(13, 11), mode="bilinear"),
    Upsample(scale_factor=2, mode="bilinear", align_corners=True), Upsample(size=(9, 7), mode="bicubic"),
    Upsample(scale_factor=2, mode="bicubic", align_corners=True), Upsample(scale_factor=2, mode="bicubic"),
    Upsample(size=(10, 12), mode="nearest"), Upsample(size=(13, 9), mode="nearest-exact"),
    Upsample(scale_factor=1.5, mode="bilinear"), Upsample(size=(4, 3), mode="area"),
]


def _torch_layer(torch, layer):
    nn = torch.nn
    kind = type(layer).__name__
    if kind.endswith("Pad2d"):
        return getattr(nn, kind)(layer.padding)
    if kind == "AvgPool2d":
        return nn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding, layer.ceil_mode,
                            layer.count_include_pad, layer.divisor_override)
    if kind == "MaxPool2d":
        return nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation, ceil_mode=layer.ceil_mode)
    if kind == "AdaptiveAvgPool2d":
        return nn.AdaptiveAvgPool2d(layer.output_size)
    sf = None if layer.scale_factor is None else tuple(float(s) for s in layer.scale_factor)
    return nn.Upsample(layer.size, sf, layer.mode, layer.align_corners)


@pytest.mark.parametrize("layer", NEW_LAYERS, ids=str)
def test_new_layer_profiles_equal_torch_on_outer_products(layer):
    """Separable: torch's 2D layer on rows (x) cols equals profile(rows) (x) profile(cols), exactly up to
    float64 rounding; the output size is torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for h, w in ((6, 5), (9, 8), (12, 7)):
        rows, cols = rng.integers(0, 9, h), rng.integers(0, 9, w)
        x = torch.from_numpy(np.outer(rows, cols).astype(np.float64))[None, None]
        want = _torch_layer(torch, layer)(x)[0, 0].numpy()
        got = np.multiply.outer(_profile(axis_maps(layer, 0, h), rows), _profile(axis_maps(layer, 1, w), cols))
        assert got.shape == want.shape
        np.testing.assert_allclose(got.astype(float), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("up,down,pad,taps", [(2, 1, (2, 1), (1, 3, 3, 1)), (1, 2, (1, 1), (1, 2, 1)),
                                              (2, 2, (0, 0), (1, 1)), (3, 1, (-1, 2), (1, 2, 3))])
def test_upfirdn2d_profile_equals_the_reference(up, down, pad, taps):
    """Upfirdn2d's per-axis rule against StyleGAN2's upfirdn2d written in PyTorch ops (tests/models)."""
    torch = pytest.importorskip("torch")
    from models.architectures import upfirdn2d

    layer = Upfirdn2d(taps, up=up, down=down, padding=(pad[0], pad[1], pad[0], pad[1]), gain=up * up, normalize=True)
    rng = np.random.default_rng(2)
    rows, cols = rng.integers(0, 9, 7), rng.integers(0, 9, 6)
    x = torch.from_numpy(np.outer(rows, cols).astype(np.float64))[None, None]
    f = torch.from_numpy(layer.filter2d())
    want = upfirdn2d(x, f, up=up, down=down, pad=(pad[0], pad[1], pad[0], pad[1]))[0, 0].numpy()
    got = np.multiply.outer(_profile(axis_maps(layer, 0, 7), rows), _profile(axis_maps(layer, 1, 6), cols))
    np.testing.assert_allclose(got.astype(float), want, rtol=1e-12)


@pytest.mark.parametrize("layer", NEW_LAYERS + [Upfirdn2d((1, 3, 3, 1), up=2, padding=(2, 1, 2, 1))], ids=str)
def test_tiles_equal_the_interior_of_long_periodic_profiles(layer):
    """tile(c) is the output of the infinite periodic input c: it equals a long profile of c repeated,
    away from the borders (for size-dependent layers at the size the tile is made for)."""
    rng = np.random.default_rng(3)
    for period in (1, 2, 3, 4):
        c = rng.integers(1, 9, period)
        n = 48 * period
        for ax in (0, 1):
            maps = axis_maps(layer, ax, n)
            tile = _tile(maps, c)
            prof = _profile(maps, np.tile(c, n // period))
            dirty = np.zeros(n, bool)
            for m in maps:
                dirty = m.dirty(dirty)
            clean = np.flatnonzero(~dirty)
            assert clean.size, "no interior"
            assert all(prof[i] == tile[i % len(tile)] for i in clean)
