"""A vectorisable exponential for Numba kernels: ``exp(x)`` on a float32/float64 scalar or a `simd.Vec`.

Numba calls libm's ``exp`` per element (no SVML here), 5-10 ns each, and LLVM cannot vectorise the call. This
``exp`` is straight-line LLVM IR that the loop vectoriser widens, and on a `Vec` one register's worth:

    n = floor(x / ln 2 + 1/2),   r = (x - n * C1) - n * C2   (Cody-Waite: C1 + C2 = ln 2, C1 with few bits,
                                                             so n * C1 is exact; both steps fused multiply-adds)
    exp(x) = 2^h * 2^(n - h) * P(r),  h = n >> 1,  |r| <= ln(2)/2

with P the Taylor polynomial of e^r of degree 7 (float32; its truncation error is 5e-9 relative, 0.09 ulp) or
13 (float64; 4e-18), evaluated by Horner's rule with fused multiply-adds. The scale 2^n is built from the
exponent bits in two halves, so that results in the subnormal range (float32 below 1.2e-38) are rounded by
the last multiplication instead of flushed, and overflow gives inf. ``x`` is first clamped to [lo, hi]: below
lo (-176 for float32, -1418 for float64, and -inf) both halves are exactly 0.0, so the result is +0.0 without a
subnormal intermediate (which would cost a microcode assist); above hi the result overflows to inf. NaN gives
NaN. Measured against the float64 exponential of every float32 in steps of 1e-4 over [-110, 90]: max error
0.92 ulp (tests/test_attention.py); NumPy's float32 exp here is 2.4 ulp.

Cost: about 20 vector instructions per vector (clamp, floor, 2 + 7 fused multiply-adds, the exponent bits,
2 multiplies, the NaN select); no table, no branch.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .simd import Vec

# per float width: clamp range, Cody-Waite constants, exponent bias and mantissa bits, polynomial degree
_FORMAT = {
    32: (-104.0, 89.0, 0.693359375, -2.12194440e-4, 127, 23, 7),
    64: (-746.0, 710.0, 6.93145751953125e-1, 1.42860682030941723212e-6, 1023, 52, 13),
}


#: The flag of every float instruction here: Numba's fastmath pass adds the caller's flags only to instructions
#: without any, and ``contract`` or ``reassoc`` on the last multiply would let LLVM fuse it with the caller's
#: next addition in some inlined copies and not in others (results differing by an ulp between call sites).
#: ``nsz`` changes nothing here: no intermediate is a signed zero that matters.
EXACT = ("nsz",)


def _constant(ty, value):
    if isinstance(ty, ir.VectorType):
        return ir.Constant(ty, [ir.Constant(ty.element, value)] * ty.count)
    return ir.Constant(ty, value)


def _intrinsic_call(builder, name, ty, args):
    suffix = (f"v{ty.count}" if isinstance(ty, ir.VectorType) else "") + \
        ("f32" if isinstance(getattr(ty, "element", ty), ir.FloatType) else "f64")
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty] * len(args)), f"llvm.{name}.{suffix}")
    return builder.call(fn, args)


def exp_ir(builder, x):
    """LLVM IR of exp(x) for a float/double scalar or vector value ``x`` (see the module docstring)."""
    ty = x.type
    elem = ty.element if isinstance(ty, ir.VectorType) else ty
    bits = 32 if isinstance(elem, ir.FloatType) else 64
    lo, hi, c1, c2, bias, mant, degree = _FORMAT[bits]
    ity = ir.IntType(bits)
    if isinstance(ty, ir.VectorType):
        ity = ir.VectorType(ity, ty.count)

    def c(v):
        return _constant(ty, v)

    def fma(a, b, d):
        return _intrinsic_call(builder, "fma", ty, [a, b, d])

    inside = builder.fcmp_ordered(">=", x, c(lo), flags=EXACT)  # False for NaN, -inf and x < lo: 0 (or NaN)
    xc = builder.select(inside, x, c(lo))
    xc = builder.select(builder.fcmp_ordered(">", xc, c(hi), flags=EXACT), c(hi), xc)
    n = _intrinsic_call(builder, "floor", ty, [fma(xc, c(1 / math.log(2)), c(0.5))])
    r = fma(n, c(-c1), xc)
    r = fma(n, c(-c2), r)
    p = c(1 / math.factorial(degree))
    for k in range(degree - 1, -1, -1):
        p = fma(p, r, c(1 / math.factorial(k)))
    ni = builder.fptosi(n, ity)
    h = builder.ashr(ni, _constant(ity, 1))
    shift = _constant(ity, mant)
    # p * 2^(n - h): added to p's exponent bits, exact (the result stays normal); then one rounding multiply by
    # 2^h, which gives subnormal results correctly rounded and overflow as inf; 0 below lo
    t = builder.bitcast(builder.add(builder.bitcast(p, ity), builder.shl(builder.sub(ni, h), shift)), ty)
    s1 = builder.bitcast(builder.shl(builder.add(h, _constant(ity, bias)), shift), ty)
    y = builder.fmul(t, builder.select(inside, s1, c(0.0)), flags=EXACT)
    return builder.select(builder.fcmp_unordered("uno", x, x, flags=EXACT), x, y)


@intrinsic
def exp(typingctx, x):
    """exp(x) of a float32/float64 scalar or a `Vec`, in its own type (see the module docstring)."""
    if x not in (types.float32, types.float64) and not isinstance(x, Vec):
        raise TypeError(f"exp takes a float32/float64 scalar or a Vec, not {x}")

    def codegen(context, builder, sig, args):
        return exp_ir(builder, args[0])
    return x(x), codegen
