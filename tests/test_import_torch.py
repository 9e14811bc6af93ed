"""from_torch on real architectures (tests/models): the imported network's exact count map equals the
brute-force count of the module itself (tests/naive_count.py), its interior tile repeats that map, fx and
forward hooks capture the same graph, and bad models get one-line errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.architectures import ARCHITECTURES  # noqa: E402
from naive_count import count_map  # noqa: E402

from checkerlab.analytics import CheckerlabError  # noqa: E402
from checkerlab.analytics.network_pattern import network_map, network_pattern  # noqa: E402
from checkerlab.analytics.torch_import import from_torch  # noqa: E402

#: Input shapes large enough for an interior (every architecture's own shape is smaller, for speed elsewhere).
INTERIOR = {"dcgan": (1, 16, 4, 4), "espcn": (1, 1, 16, 16), "edsr": (1, 3, 24, 24), "pix2pix-resnet": (1, 3, 64, 64),
            "unet": (1, 3, 96, 96), "unet-bilinear": (1, 3, 96, 96), "sd-vae-decoder": (1, 4, 24, 24),
            "stylegan2-up": (1, 16, 16, 16), "fcn-head": (1, 3, 48, 48)}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_the_exact_map_equals_the_brute_force_count(name):
    factory, _ = ARCHITECTURES[name]
    shape = INTERIOR[name]
    module = factory()
    net = from_torch(module, shape)
    want = count_map(module, shape).numpy()[0]
    maps = network_map(net)
    covered = set()
    for (a, b), m in maps:
        for c in range(a, b):
            # exact counts against float64 (exact below 2**53, within 1e-12 relative above)
            np.testing.assert_allclose(np.asarray(m, dtype=float), want[c], rtol=1e-12, atol=0)
            covered.add(c)
    assert covered == set(range(want.shape[0]))


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_the_tile_repeats_over_the_brute_force_interior(name):
    factory, _ = ARCHITECTURES[name]
    shape = INTERIOR[name]
    module = factory()
    pattern = network_pattern(from_torch(module, shape))
    want = count_map(module, shape).numpy()[0]
    assert pattern.kind == "spatial"
    for g in pattern.groups:
        (top, bottom), (left, right) = g.edge
        h, w = g.size
        inside = want[g.channels[0], top:h - bottom, left:w - right]
        if not g.has_interior:
            continue
        ph, pw = g.period
        rows, cols = np.arange(top, h - bottom) % ph, np.arange(left, w - right) % pw
        tiled = g.tile.astype(float)[np.ix_(rows, cols)]
        ratio = inside / tiled
        np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-12)


def test_the_known_verdicts():
    """pix2pix's two ConvTranspose2d(3, 2, 1, output_padding=1) paint period 4 (Distill's [3,2,3,1] per axis,
    smoothed by the 7x7 head); StyleGAN2's [1,3,3,1] blur makes the transposed conv even; a U-Net with
    2x2 stride-2 transposed convs is even."""
    factory, _ = ARCHITECTURES["pix2pix-resnet"]
    p = network_pattern(from_torch(factory(), INTERIOR["pix2pix-resnet"]))
    assert p.period == (4, 4) and not p.is_even
    breaker = p.network[p.worst_path.breaker]
    assert breaker.op.type == "ConvTranspose2d" and breaker.module == "model.12"  # the first transposed conv
    factory, _ = ARCHITECTURES["stylegan2-up"]
    p = network_pattern(from_torch(factory(), INTERIOR["stylegan2-up"]))
    assert p.is_even
    factory, _ = ARCHITECTURES["unet"]
    assert network_pattern(from_torch(factory(), INTERIOR["unet"])).period == (1, 1)


def test_the_attention_rule_is_in_the_verdict():
    factory, shape = ARCHITECTURES["sd-vae-decoder"]
    p = network_pattern(from_torch(factory(), shape))
    assert any("attention" in n and "residual" in n for n in p.notes)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_fx_and_hooks_capture_the_same_graph(name):
    factory, shape = ARCHITECTURES[name]
    a, b = from_torch(factory(), shape, trace="fx"), from_torch(factory(), shape, trace="hooks")
    def signature(net):
        return [(type(n.op).__name__, n.shape, n.module) for n in net]
    assert signature(a) == signature(b)


class _Weird(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 3, padding=1)
        self.body = torch.nn.Sequential(_Cumsum())

    def forward(self, x):
        return self.body(self.conv(x))


class _Cumsum(torch.nn.Module):
    def forward(self, x):
        return x.cumsum(-1)


def test_an_unsupported_op_names_the_module_and_lists_what_is_supported():
    module = _Weird()
    with pytest.raises(CheckerlabError) as exc:
        from_torch(module, (1, 3, 8, 8))
    msg = str(exc.value)
    assert msg.startswith("module 'body.0' (_Cumsum): Tensor.cumsum is not supported; supported: convolutions")
    assert len(msg) <= 300 and "\n" not in msg
    assert not module.conv._forward_hooks and not module.conv._forward_pre_hooks  # nothing left behind


def test_bad_arguments_and_failing_models_give_one_line_errors():
    with pytest.raises(CheckerlabError, match="needs a torch.nn.Module"):
        from_torch(lambda x: x, (1, 3, 8, 8))
    with pytest.raises(CheckerlabError, match="input_shape=.* must be"):
        from_torch(torch.nn.Conv2d(3, 3, 3), (1, 3, -8, 8))
    with pytest.raises(CheckerlabError, match="memory budget"):
        from_torch(torch.nn.Conv2d(3, 3, 3), (1, 3, 10 ** 6, 10 ** 6))
    with pytest.raises(CheckerlabError, match="forward failed on an input of shape .*RuntimeError"):
        from_torch(torch.nn.Conv2d(3, 3, 3), (1, 4, 8, 8))
    with pytest.raises(CheckerlabError, match="does not depend on its input"):
        from_torch(_Constant(), (1, 3, 8, 8))


class _Constant(torch.nn.Module):
    def forward(self, x):
        return torch.ones(1, 3, 4, 4)


class _Embedded(torch.nn.Module):
    """A diffusion-style timestep embedding (arange, exp, sin, cos) added as a per-channel bias."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.proj = torch.nn.Linear(4, 4)

    def forward(self, x, timestep):
        freqs = torch.exp(-torch.arange(2, dtype=torch.float32) * 0.5)
        angles = torch.tensor([float(timestep)]) * freqs
        emb = self.proj(torch.cat([angles.sin(), angles.cos()])[None])
        return self.conv(x) + emb[:, :, None, None]


def test_forward_kwargs_are_constants_and_a_timestep_embedding_folds():
    module = _Embedded().eval()
    net = from_torch(module, (1, 4, 8, 8), timestep=10)
    assert [type(n.op).__name__ for n in net] == ["Input", "Conv2d", "Constant", "Binary"]
    p = network_pattern(net)
    assert p.is_even


@pytest.mark.parametrize("name", list(ARCHITECTURES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_simulation_equals_torch(name, dtype):
    """Network.forward on the kernels equals module.eval()(x): 1e-4 relative in float32, 1e-9 in float64."""
    factory, shape = ARCHITECTURES[name]
    module = factory()
    net = from_torch(module, shape)
    x = np.random.default_rng(5).standard_normal((2, *shape[1:])).astype(dtype)
    with torch.no_grad():
        want = (module.double() if dtype == "float64" else module.float())(torch.from_numpy(x)).numpy()
    got = net.forward(x)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= (1e-4 if dtype == "float32" else 1e-9) * scale


@pytest.mark.parametrize("conv", [
    lambda: torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, 1, groups=2), lambda: torch.nn.Conv2d(4, 6, 3, padding=1, groups=2),
    lambda: torch.nn.ConvTranspose2d(4, 6, 4, 2, 1, bias=False)], ids=["convT-groups", "conv-groups", "convT-nobias"])
def test_conv_batchnorm_activation_runs_fused_and_equals_torch(conv):
    """An eval BatchNorm folded into the convolution before it, the activation in its output loop: the same
    output as torch and as the unfused forward (keep=True computes every node on its own)."""
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(6)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 2)
        bn.bias.uniform_(-1, 1)
    module = torch.nn.Sequential(conv(), bn, torch.nn.LeakyReLU(0.2), torch.nn.Conv2d(6, 2, 1)).eval()
    net = from_torch(module, (1, 4, 9, 9))
    plan = net._plans[False]
    assert plan and all(bn_node is not None for _, bn_node, _ in plan.values())
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 9)).astype(np.float64)
    with torch.no_grad():
        want = module.double()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.forward(x, keep=True)[net.output], want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("norm, act", [
    (lambda: torch.nn.GroupNorm(2, 6), lambda: torch.nn.SiLU()),
    (lambda: torch.nn.GroupNorm(3, 6), lambda: torch.nn.PReLU(6)),
    (lambda: torch.nn.GroupNorm(2, 6), lambda: torch.nn.Tanh()),
    (lambda: torch.nn.InstanceNorm2d(6, affine=True), lambda: torch.nn.ReLU())], ids=["gn-silu", "gn-prelu",
                                                                                      "gn-tanh", "in-relu"])
def test_norm_activation_runs_fused_and_equals_torch(norm, act):
    """An activation that alone reads a GroupNorm or InstanceNorm2d runs in the norm's output pass: the plan
    names it, and the output equals torch and the unfused forward (keep=True) bit for bit; a norm that two
    nodes read keeps its own output (not fused)."""
    torch.manual_seed(0)
    n = norm()
    with torch.no_grad():
        n.weight.uniform_(0.5, 2)
        n.bias.uniform_(-1, 1)
    module = torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, padding=1), n, act(), torch.nn.Conv2d(6, 2, 1)).eval()
    net = from_torch(module, (1, 4, 9, 9))
    fused = [name for name, (covered, _, fn) in net._plans[False].items() if type(net[name].op).__name__
             in ("GroupNorm", "InstanceNorm2d")]
    assert len(fused) == 1
    x = np.random.default_rng(0).standard_normal((2, 4, 9, 9)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    got = net.forward(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(got, net.forward(x, keep=True)[net.output])

    class Twice(torch.nn.Module):  # the norm's output read by the activation and by the residual sum
        def __init__(self):
            super().__init__()
            self.n, self.a = norm(), act()

        def forward(self, x):
            y = self.n(x)
            return self.a(y) + y

    twice = Twice().eval()
    net = from_torch(twice, (1, 6, 5, 5))
    assert not net._plans[False]
    x = np.random.default_rng(1).standard_normal((1, 6, 5, 5)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(net.forward(x), twice(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)


def test_float64_modules_import_and_half_ones_are_refused():
    module = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3, 2), torch.nn.ReLU()).double()
    net = from_torch(module, (1, 2, 5, 5))
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5))
    with torch.no_grad():
        np.testing.assert_allclose(net.forward(x), module(torch.from_numpy(x)).numpy(), rtol=1e-12)
    with pytest.raises(CheckerlabError, match=r"torch.float16: convert it with module.float\(\) first"):
        from_torch(torch.nn.Conv2d(2, 2, 3).half(), (1, 2, 8, 8))
