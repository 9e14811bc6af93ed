"""checkerboard_report: phase gains against PyTorch on a constant input, the filter response against a direct
DFT of a filtered periodic signal, and the attribution on networks whose answer is known."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.architectures import ARCHITECTURES  # noqa: E402

from checkerlab.analytics.layers import ConvTranspose2d  # noqa: E402
from checkerlab.analytics.report import (  # noqa: E402
    checkerboard_report,
    filter_response,
    subpixel_phase_gains,
    transposed_phase_gains,
)
from checkerlab.analytics.torch_import import from_torch  # noqa: E402


@pytest.mark.parametrize("k,s,p,op,d,g", [(3, 2, 0, 0, 1, 1), (4, 2, 1, 0, 1, 1), (3, 2, 1, 1, 1, 2),
                                          (5, 3, 2, 1, 2, 1), (4, 2, 1, 0, 1, 4)])
def test_transposed_phase_gains_are_the_outputs_of_a_constant_input(k, s, p, op, d, g):
    rng = np.random.default_rng(0)
    c_in, c_out = 4, 4
    w = rng.standard_normal((c_in, c_out // g, k, k)).astype(np.float64)
    b = rng.standard_normal(c_out)
    layer = ConvTranspose2d(k, s, p, op, d, out_channels=c_out, groups=g)
    gains = transposed_phase_gains(layer, w, b)
    y = torch.nn.functional.conv_transpose2d(torch.ones(1, c_in, 20, 20, dtype=torch.float64), torch.from_numpy(w),
                                             torch.from_numpy(b), s, p, op, g, d)[0].numpy()
    mid = 10 * s  # far from every border
    for rh in range(s):
        for rw in range(s):
            np.testing.assert_allclose(y[:, mid + rh, mid + rw], gains[:, (mid + rh) % s, (mid + rw) % s], rtol=1e-12)


def test_subpixel_phase_gains_are_the_outputs_of_a_constant_input():
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((12, 3, 3, 3)), rng.standard_normal(12)
    x = torch.ones(1, 3, 10, 10, dtype=torch.float64)
    y = torch.nn.functional.pixel_shuffle(torch.nn.functional.conv2d(x, torch.from_numpy(w), torch.from_numpy(b),
                                                                     padding=1), 2)[0].numpy()
    gains = subpixel_phase_gains(w, b, 2)
    np.testing.assert_allclose(y[:, 8:10, 8:10], gains, rtol=1e-12)


def test_the_filter_response_is_the_gain_of_a_filtered_period():
    """A stride-1 conv on a signal of period 4: the amplitude of each artifact frequency after / before, over
    the DC ratio, is |H(f)| / |H(0)|; the report takes the largest, averaged over output channels."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((1, 3, 3, 3))
    tile = rng.standard_normal((4, 4))
    x = np.tile(tile, (16, 16))[None].repeat(3, axis=0)[None]
    y = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w))[0, 0].numpy()
    fx, fy = np.abs(np.fft.fft2(x[0, 0][8:40, 8:40])), np.abs(np.fft.fft2(y[8:40, 8:40]))
    strong = fx > 1e-6 * fx.max()
    ratio = np.where(strong, fy / np.where(strong, fx, 1), 0) / (fy[0, 0] / fx[0, 0])
    strong[0, 0] = False
    want = ratio[strong].max()
    assert filter_response(w, (4, 4)) == pytest.approx(want, rel=1e-9)
    assert filter_response(w, (1, 1)) is None
    box = np.ones((1, 1, 2, 2))  # a 2x2 box cancels period 2 entirely
    assert filter_response(box, (2, 2)) == pytest.approx(0.0, abs=1e-12)


def test_dcgan_attribution():
    factory, _ = ARCHITECTURES["dcgan"]
    report = checkerboard_report(from_torch(factory(), (1, 16, 8, 8)))
    roles = {r.node: r.role for r in report.rows}
    assert roles["main.3"] == "introduces"  # the first stride-2 transposed conv
    assert roles["main.0"] == "passes"  # stride 1 from 8x8: no phases yet
    assert all(report.rows[i].gain_spread > 0 for i in range(len(report.rows))
               if report.rows[i].spec.startswith("ConvTranspose2d(4, stride=2"))
    assert report.output.measured > 0.1 and "introduced by: main.3" in report.verdict()


def test_icnr_subpixel_weights_introduce_nothing():
    """ESPCN with ICNR-like weights (the r^2 sub-kernels of each output channel equal): zero phase spread and a
    flat output; with random weights the PixelShuffle introduces the artifact."""
    factory, _ = ARCHITECTURES["espcn"]
    module = factory()
    report = checkerboard_report(from_torch(module, (1, 1, 24, 24)))
    shuffle = next(r for r in report.rows if r.spec.startswith("PixelShuffle"))
    assert shuffle.role == "introduces" and shuffle.gain_spread > 0.1
    with torch.no_grad():
        w, b = module.conv3.weight, module.conv3.bias
        w.copy_(w[:1].repeat(9, 1, 1, 1))
        b.copy_(b[:1].repeat(9))
    report = checkerboard_report(from_torch(module, (1, 1, 24, 24)))
    shuffle = next(r for r in report.rows if r.spec.startswith("PixelShuffle"))
    assert shuffle.gain_spread == pytest.approx(0, abs=1e-12)
    assert report.output.measured < 1e-9 and "no checkerboard" in report.verdict()


def test_a_probe_that_instance_norm_erases_is_reported():
    factory, _ = ARCHITECTURES["pix2pix-resnet"]
    net = from_torch(factory(), (1, 3, 64, 64))
    report = checkerboard_report(net)
    assert report.vanished == "model.2" and "pass x= a real image" in report.verdict()
    x = np.random.default_rng(0).standard_normal(net.input_shape)
    report = checkerboard_report(net, x)
    assert report.vanished is None
    conv_t = [r for r in report.rows if r.spec.startswith("ConvTranspose2d")]
    assert len(conv_t) == 2 and all(r.gain_spread > 0 for r in conv_t)


def test_report_json_is_plain():
    factory, _ = ARCHITECTURES["stylegan2-up"]
    report = checkerboard_report(from_torch(factory(), (1, 16, 24, 24)))
    import json

    from checkerlab.analytics import to_dict

    data = to_dict(report)

    json.dumps(data)
    assert data["layers"][0].keys() >= {"node", "layer", "role", "gain_spread", "response", "measured"}
    blur = [r for r in report.rows if r.spec.startswith("Conv2d") and r.module.endswith("blur")]
    assert blur and blur[0].role == "damps"


def test_number_text_is_exact_when_short_and_approximate_beyond():
    import sys
    from fractions import Fraction

    from checkerlab.analytics.network_pattern import number_text

    assert number_text(12) == "12" and number_text(Fraction(7, 4)) == "7/4"
    n = 3 ** 20000  # 9,543 digits: str(n) raises under Python's default limit
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        digits = str(n)
    finally:
        sys.set_int_max_str_digits(old)
    mantissa, exp = number_text(n)[1:].split("e+")
    assert int(exp) == len(digits) - 1 and float(mantissa) == pytest.approx(float(digits[:4]) / 1000, abs=1e-2)
    assert number_text(Fraction(n, 3 ** 19990)) == "59049" and number_text(-n) == "~-" + number_text(n)[1:]
    assert number_text(Fraction(1, n)).endswith(f"e-{len(digits)}")  # 1/n = 10^-(digits - 1 + log10 of 3.x)
