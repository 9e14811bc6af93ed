"""Published upsampling paths in plain PyTorch, scaled down in channels, each with its input shape.

Every factory returns a fresh `nn.Module` in eval mode with seeded random weights (BatchNorm statistics and
affine parameters randomised too, so that no layer is the identity by accident). The geometry - kernel,
stride, padding, padding mode, resampling mode, skips - is the original's; see each docstring.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _randomise(module: nn.Module, seed: int) -> nn.Module:
    """Random weights, biases, norm affines and BatchNorm running statistics; eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            fan = p[0].numel() if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan))
            if name.endswith("weight") and p.ndim == 1:  # norm scale near 1
                p.add_(1.0)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return module.eval()


# ---------------------------------------------------------------------------------------------- DCGAN
class DCGANGenerator(nn.Module):
    """Radford et al. 2016: ConvTranspose2d(4, 2, 1) + BatchNorm + ReLU, Tanh at the end (z from 1x1)."""

    def __init__(self, nz=16, ngf=8, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


# ---------------------------------------------------------------------------------------------- ESPCN
class ESPCN(nn.Module):
    """Shi et al. 2016: conv 5x5, tanh, conv 3x3, tanh, conv 3x3 to r^2 channels, PixelShuffle(r)."""

    def __init__(self, r=3, c=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, c * r * r, 3, padding=1)
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x):
        x = torch.tanh(self.conv1(x))
        x = torch.tanh(self.conv2(x))
        return self.shuffle(self.conv3(x))


# ----------------------------------------------------------------------------------------------- EDSR
class MeanShift(nn.Conv2d):
    """EDSR's fixed 1x1 convolution that subtracts (or adds back) the RGB mean: weights never trained."""

    def __init__(self, sign=-1, rgb_mean=(0.4488, 0.4371, 0.4040)):
        super().__init__(3, 3, kernel_size=1)
        self.weight.data = torch.eye(3).view(3, 3, 1, 1)
        self.bias.data = sign * torch.tensor(rgb_mean)
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    """EDSR residual block without batch norm, with residual scaling."""

    def __init__(self, n, res_scale=0.1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(n, n, 3, padding=1), nn.ReLU(True), nn.Conv2d(n, n, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x):
        return self.body(x).mul(self.res_scale) + x


class EDSR(nn.Module):
    """Lim et al. 2017: head conv, residual body with a long skip, x4 upsampler (conv + PixelShuffle(2)) x 2."""

    def __init__(self, n=16, blocks=3):
        super().__init__()
        self.sub_mean, self.add_mean = MeanShift(-1), MeanShift(1)
        self.head = nn.Conv2d(3, n, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(n) for _ in range(blocks)], nn.Conv2d(n, n, 3, padding=1))
        self.tail = nn.Sequential(
            nn.Conv2d(n, 4 * n, 3, padding=1), nn.PixelShuffle(2),
            nn.Conv2d(n, 4 * n, 3, padding=1), nn.PixelShuffle(2),
            nn.Conv2d(n, 3, 3, padding=1))

    def forward(self, x):
        x = self.head(self.sub_mean(x))
        x = self.body(x) + x
        return self.add_mean(self.tail(x))


# ----------------------------------------------------------------------------- pix2pix ResNet generator
class ResnetBlock(nn.Module):
    """CycleGAN/pix2pix: reflect pad 1, conv 3, InstanceNorm, ReLU, reflect pad 1, conv 3, InstanceNorm, + x."""

    def __init__(self, n):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(n, n, 3), nn.InstanceNorm2d(n), nn.ReLU(True),
            nn.Dropout(0.5),
            nn.ReflectionPad2d(1), nn.Conv2d(n, n, 3), nn.InstanceNorm2d(n))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Isola et al. / Zhu et al.: 7x7 reflect-padded stem, two stride-2 downsamplings, residual blocks, two
    ConvTranspose2d(3, 2, 1, output_padding=1) upsamplings with InstanceNorm, 7x7 reflect-padded head, Tanh."""

    def __init__(self, ngf=8, blocks=2):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(2):
            m = 2 ** i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(ngf * m * 2),
                       nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(blocks)]
        for i in range(2):
            m = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(ngf * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


# ---------------------------------------------------------------------------------------------- U-Net
class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Up(nn.Module):
    """Upsample (transposed conv 2x2 stride 2, or bilinear align_corners=True), pad to the skip, concat."""

    def __init__(self, cin, cout, bilinear):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
            self.conv = DoubleConv(cin + cin // 2, cout)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(cin, cout)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    """Ronneberger et al. 2015 as in milesial/Pytorch-UNet: max-pool encoder, concat skips."""

    def __init__(self, c=3, classes=2, base=8, bilinear=False):
        super().__init__()
        self.inc = DoubleConv(c, base)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base, base * 2))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base * 2, base * 4))
        self.down3 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(base * 4, base * 8))
        self.up1 = Up(base * 8, base * 4, bilinear)
        self.up2 = Up(base * 4, base * 2, bilinear)
        self.up3 = Up(base * 2, base, bilinear)
        self.outc = nn.Conv2d(base, classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x = self.up1(x4, x3)
        x = self.up2(x, x2)
        x = self.up3(x, x1)
        return self.outc(x)


# --------------------------------------------------------------------------- Stable-Diffusion-VAE style
class VAEResnetBlock(nn.Module):
    """diffusers ResnetBlock2D in the VAE: GroupNorm, SiLU, conv 3x3, GroupNorm, SiLU, dropout, conv 3x3;
    a 1x1 shortcut when the channels change; (x + h) / output_scale_factor."""

    def __init__(self, cin, cout, groups=4):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin, eps=1e-6), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout, eps=1e-6), nn.Conv2d(cout, cout, 3, padding=1)
        self.dropout = nn.Dropout(0.0)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        if self.shortcut is not None:
            x = self.shortcut(x)
        return (x + h) / 1.0


class VAEAttention(nn.Module):
    """diffusers Attention as the VAE mid block uses it: GroupNorm, Linear q/k/v over channels on the
    (B, HW, C) sequence, scaled_dot_product_attention, output Linear, residual."""

    def __init__(self, c, groups=4, heads=1):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q, self.to_k, self.to_v = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])
        self.heads = heads

    def forward(self, x):
        residual = x
        b, c, h, w = x.shape
        s = x.view(b, c, h * w).transpose(1, 2)
        s = self.group_norm(s.transpose(1, 2)).transpose(1, 2)
        q, k, v = self.to_q(s), self.to_k(s), self.to_v(s)
        d = c // self.heads
        q, k, v = (t.view(b, -1, self.heads, d).transpose(1, 2) for t in (q, k, v))
        s = F.scaled_dot_product_attention(q, k, v)
        s = s.transpose(1, 2).reshape(b, -1, self.heads * d)
        s = self.to_out[1](self.to_out[0](s))
        s = s.transpose(-1, -2).reshape(b, c, h, w)
        return (s + residual) / 1.0


class VAEUpsample(nn.Module):
    """diffusers Upsample2D: nearest x2 (F.interpolate) then conv 3x3."""

    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class VAEDecoder(nn.Module):
    """The Stable Diffusion VAE decoder's shape: conv_in, mid block (resnet, attention, resnet), up blocks of
    resnets each followed by nearest x2 + conv, GroupNorm, SiLU, conv_out; latents are divided by the
    scaling factor first."""

    def __init__(self, latent=4, ch=(16, 16, 8), out=3, groups=4, scaling_factor=0.18215):
        super().__init__()
        self.scaling_factor = scaling_factor
        self.conv_in = nn.Conv2d(latent, ch[0], 3, padding=1)
        self.mid = nn.ModuleList([VAEResnetBlock(ch[0], ch[0], groups), VAEAttention(ch[0], groups),
                                  VAEResnetBlock(ch[0], ch[0], groups)])
        blocks = []
        for i, c in enumerate(ch):
            cin = ch[max(i - 1, 0)]
            blocks.append(nn.ModuleList([VAEResnetBlock(cin, c, groups), VAEResnetBlock(c, c, groups)]
                                        + ([VAEUpsample(c)] if i < len(ch) - 1 else [])))
        self.up = nn.ModuleList(blocks)
        self.norm_out = nn.GroupNorm(groups, ch[-1], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[-1], out, 3, padding=1)

    def forward(self, z):
        x = self.conv_in(z / self.scaling_factor)
        for m in self.mid:
            x = m(x)
        for block in self.up:
            for m in block:
                x = m(x)
        return self.conv_out(F.silu(self.norm_out(x)))


# -------------------------------------------------------------------------------- StyleGAN2 up block
def upfirdn2d(x, f, up=1, down=1, pad=(0, 0, 0, 0), gain=1.0):
    """StyleGAN2's upfirdn2d in standard PyTorch ops (the structure of NVlabs' reference implementation):
    zero insertion by a reshape + pad, pad/crop, a depthwise conv with the flipped FIR, then decimation."""
    b, c, h, w = x.shape
    px0, px1, py0, py1 = pad
    x = x.reshape(b, c, h, 1, w, 1)
    x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
    x = x.reshape(b, c, h * up, w * up)
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    f = (f * gain).flip([0, 1])[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, f, groups=c)
    return x[:, :, ::down, ::down]


class Blur(nn.Module):
    """A fixed FIR [1, 3, 3, 1] (outer product, normalised), registered as a buffer, applied by upfirdn2d."""

    def __init__(self, taps=(1, 3, 3, 1), pad=(1, 1), up=1):
        super().__init__()
        k = torch.tensor(taps, dtype=torch.float32)
        k = k[None, :] * k[:, None]
        self.register_buffer("kernel", k / k.sum() * up * up)
        self.pad = pad

    def forward(self, x):
        p0, p1 = self.pad
        return upfirdn2d(x, self.kernel, pad=(p0, p1, p0, p1))


class StyleGAN2UpBlock(nn.Module):
    """rosinality's StyledConv(upsample=True) without the style modulation: ConvTranspose2d(3, stride 2),
    the [1, 3, 3, 1] blur with pad (1, 1), bias and LeakyReLU(0.2) * sqrt 2; then a 3x3 conv; the RGB skip
    is upsampled by upfirdn2d(up=2) with the same taps and added."""

    def __init__(self, cin=16, cout=8):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, 3, stride=2, bias=False)
        self.blur = Blur(pad=(1, 1), up=2)
        self.bias1 = nn.Parameter(torch.zeros(1, cout, 1, 1))
        self.conv = nn.Conv2d(cout, cout, 3, padding=1)
        self.to_rgb = nn.Conv2d(cout, 3, 1)
        k = torch.tensor([1.0, 3.0, 3.0, 1.0])
        self.register_buffer("skip_kernel", (k[None, :] * k[:, None]) / 64 * 4)

    def forward(self, x, rgb):
        h = self.blur(self.up(x))
        h = F.leaky_relu(h + self.bias1, 0.2) * math.sqrt(2)
        h = F.leaky_relu(self.conv(h), 0.2) * math.sqrt(2)
        skip = upfirdn2d(rgb, self.skip_kernel, up=2, pad=(2, 1, 2, 1))
        return self.to_rgb(h) + skip


class StyleGAN2Up(nn.Module):
    """One input: the RGB skip starts as a 1x1 conv of the features."""

    def __init__(self, cin=16, cout=8):
        super().__init__()
        self.rgb_in = nn.Conv2d(cin, 3, 1)
        self.block = StyleGAN2UpBlock(cin, cout)

    def forward(self, x):
        return self.block(x, self.rgb_in(x))


# -------------------------------------------------------------------------------------------- FCN head
def bilinear_weight(c, k):
    """FCN's bilinear upsampling kernel, per class (diagonal)."""
    f = (k + 1) // 2
    center = f - 1 if k % 2 == 1 else f - 0.5
    og = torch.arange(k, dtype=torch.float32)
    filt = (1 - (og - center).abs() / f)
    w = torch.zeros(c, c, k, k)
    for i in range(c):
        w[i, i] = filt[:, None] * filt[None, :]
    return w


class FCNHead(nn.Module):
    """FCN-8s-style fusion: score 1x1 convs, a bilinear-initialised ConvTranspose2d(4, stride 2, no bias), a
    crop of the skip score by slicing, addition, and F.interpolate to the input size (bilinear)."""

    def __init__(self, cin=8, classes=3):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, cin, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
                                      nn.Conv2d(cin, cin, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2, 2)
        self.score_fr = nn.Conv2d(cin, classes, 1)
        self.score_pool = nn.Conv2d(cin, classes, 1)
        self.upscore2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, bias=False)
        self.upscore2.weight.data.copy_(bilinear_weight(classes, 4))

    def forward(self, x):
        size = x.shape[-2:]
        f = self.backbone(x)
        s = self.score_fr(self.pool(f))
        up = self.upscore2(s)
        skip = self.score_pool(f)[:, :, 1:1 + up.shape[2], 1:1 + up.shape[3]]
        h = up[:, :, :skip.shape[2], :skip.shape[3]] + skip
        return F.interpolate(h, size=size, mode="bilinear", align_corners=False)


# ------------------------------------------------------------------------------------------- registry
def _build(cls, seed, **kw):
    def factory():
        torch.manual_seed(seed)
        module = cls(**kw)
        keep = {n: b.clone() for n, b in module.named_buffers() if "kernel" in n}
        fixed = {n: p.clone() for n, p in module.named_parameters() if not p.requires_grad}
        _randomise(module, seed)
        with torch.no_grad():  # fixed filters keep their real taps
            for n, b in module.named_buffers():
                if n in keep:
                    b.copy_(keep[n])
            for n, p in module.named_parameters():
                if n in fixed:
                    p.copy_(fixed[n])
        if cls is FCNHead:
            module.upscore2.weight.data.copy_(bilinear_weight(module.upscore2.weight.shape[0], 4))
        return module
    return factory


#: name -> (factory, input shape (N, C, H, W))
ARCHITECTURES = {
    "dcgan": (_build(DCGANGenerator, 1), (1, 16, 1, 1)),
    "espcn": (_build(ESPCN, 2), (1, 1, 12, 12)),
    "edsr": (_build(EDSR, 3), (1, 3, 10, 10)),
    "pix2pix-resnet": (_build(ResnetGenerator, 4), (1, 3, 24, 24)),
    "unet": (_build(UNet, 5), (1, 3, 32, 32)),
    "unet-bilinear": (_build(UNet, 6, bilinear=True), (1, 3, 24, 24)),
    "sd-vae-decoder": (_build(VAEDecoder, 7), (1, 4, 8, 8)),
    "stylegan2-up": (_build(StyleGAN2Up, 8), (1, 16, 8, 8)),
    "fcn-head": (_build(FCNHead, 9), (1, 3, 32, 32)),
}
