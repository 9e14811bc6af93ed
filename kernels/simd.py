"""Explicit SIMD vectors inside Numba kernels: a vector type and the operations a register-blocked kernel
needs, each one or a few LLVM instructions.

LLVM's loop vectoriser works on innermost loops and keeps their accumulators in memory when the reduction
runs in an outer loop, which caps a convolution's inner loop at a load and a store per multiply-add. With
`Vec` values as ordinary local variables, a kernel holds a block of accumulators in registers across its
whole reduction (LLVM's mem2reg makes them SSA values) and spends one fused multiply-add per lane group.

A `Vec` holds 64 bytes of its dtype: 16 float32 or 8 float64 lanes, one AVX-512 register; on a machine with
narrower vectors LLVM splits every operation into two or four, so the code stays correct everywhere.
Operations (``idx`` is an element index into a 1-D C-contiguous array; none checks bounds, the caller
guarantees them):

- ``vload(a, idx)``: lanes ``a[idx : idx + L]`` (an unaligned load);
- ``vbcast(a, idx)``: ``a[idx]`` in every lane (folded into the FMA as an embedded broadcast);
- ``vsplat(x)``: the scalar ``x`` in every lane;
- ``vfma(a, b, c)``: ``a * b + c`` per lane, rounded once (``llvm.fma``);
- ``vload_n(a, idx, n)``: lanes ``a[idx : idx + n]``, 0 in the others (a masked load: nothing past them
  is touched);
- ``vstore_n(a, idx, v, n)``: lanes ``0 .. n-1`` of ``v`` to ``a[idx : idx + n]`` (a masked store; ``n`` may
  be <= 0, nothing is written, or >= L, everything is);
- ``vscatter_n(a, idx, stride, v, n)``: lane ``l < n`` of ``v`` to ``a[idx + l * stride]`` (a masked scatter);
- ``vstore(a, idx, v)``: all lanes of ``v`` to ``a[idx : idx + L]``;
- ``copy_n(dst, d, src, s, n)``: ``dst[d : d + n] = src[s : s + n]`` (``llvm.memmove``: the runs may
  overlap; nothing when n <= 0): a row copy with no loop for LLVM to vectorise, unroll and version, and no
  shape check;
- ``vdeal2_n(a, idx, n)``, ``vdeal3_n(a, idx, n)``: the 2L (3L) elements from ``a[idx]`` dealt into 2 (3)
  vectors, vector p holding every second (third) element from ``a[idx + p]``, reading only
  ``a[idx : idx + n]`` (a masked load: the others are 0); de-interleaving a row of stride 2 (3);
- ``vadd(a, b)``, ``vsub(a, b)``, ``vmul(a, b)``: per lane, rounded as the scalar operation;
- ``vmax(a, b)``: per lane ``a if a > b else b`` (a NaN in ``b`` is the result, a NaN in ``a`` is
  not);
- ``fma4x4(xs, i0, i1, i2, i3, ws, w0, step, a00, ..., a33)``: the 4 x 4 register block's step, 4 vectors
  ``xs[i_j :]`` times 4 broadcasts ``ws[w0 + c * step]`` into the 16 accumulators ``a_cj`` (returned);
- ``splat4x4(b, i)``: the 16 accumulators of a 4 x 4 block started at the bias, ``a_cj = b[i + c]`` in every
  lane.

The exponential of a vector is `kernels.exp.exp`.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

VECTOR_BYTES = 64


class Vec(types.Type):
    """A SIMD vector of ``dtype`` (float32 or float64) with ``64 / itemsize`` lanes."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vec({dtype} x {self.lanes})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(dmm.lookup(fe_type.dtype).get_value_type(), fe_type.lanes))


def lanes(dtype) -> int:
    """Lanes of a `Vec` of the NumPy dtype ``dtype``."""
    import numpy as np

    return VECTOR_BYTES // np.dtype(dtype).itemsize


def _address(context, builder, array_type, array, idx):
    return builder.gep(context.make_array(array_type)(context, builder, array).data, [idx])


def _splat(builder, vector_type, scalar):
    i32 = ir.IntType(32)
    v = builder.insert_element(ir.Constant(vector_type, None), scalar, ir.Constant(i32, 0))
    return builder.shuffle_vector(v, ir.Constant(vector_type, None),
                                  ir.Constant(ir.VectorType(i32, vector_type.count), [0] * vector_type.count))


def _suffix(vector_type) -> str:
    return f"v{vector_type.count}{'f32' if isinstance(vector_type.element, ir.FloatType) else 'f64'}"


def _check(array):
    if not isinstance(array, types.Array) or array.ndim != 1 or array.layout != "C" or \
            array.dtype not in (types.float32, types.float64):
        raise TypeError(f"SIMD vectors need a 1-D C-contiguous float32/float64 array, not {array}")


@intrinsic
def vload(typingctx, array, idx):
    _check(array)
    vt = Vec(array.dtype)

    def codegen(context, builder, sig, args):
        ll = context.get_value_type(vt)
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), ll.as_pointer())
        return builder.load(ptr, align=array.dtype.bitwidth // 8)
    return vt(array, idx), codegen


@intrinsic
def vbcast(typingctx, array, idx):
    _check(array)
    vt = Vec(array.dtype)

    def codegen(context, builder, sig, args):
        scalar = builder.load(_address(context, builder, sig.args[0], args[0], args[1]))
        return _splat(builder, context.get_value_type(vt), scalar)
    return vt(array, idx), codegen


@intrinsic
def vsplat(typingctx, x):
    if x not in (types.float32, types.float64):
        raise TypeError(f"vsplat takes a float32/float64 scalar, not {x}")
    vt = Vec(x)

    def codegen(context, builder, sig, args):
        return _splat(builder, context.get_value_type(vt), args[0])
    return vt(x), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    if not (isinstance(a, Vec) and a == b == c):
        raise TypeError("vfma takes three vectors of one type")

    def codegen(context, builder, sig, args):
        ll = args[0].type
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ll, [ll, ll, ll]),
                                            f"llvm.fma.{_suffix(ll)}")
        return builder.call(fn, list(args))
    return a(a, b, c), codegen


def _lane_mask(builder, count_lanes, n):
    """<lanes x i1>: lane < n (n any integer)."""
    i64 = ir.IntType(64)
    count = n if n.type.width == 64 else builder.sext(n, i64)
    lane = ir.Constant(ir.VectorType(i64, count_lanes), list(range(count_lanes)))
    return builder.icmp_signed("<", lane, _splat(builder, ir.VectorType(i64, count_lanes), count))


def _masked_load(context, builder, sig, args, vector_type):
    """The ``vector_type`` at ``array[idx]`` (args: array, idx, n), lanes >= n not read and 0."""
    i32 = ir.IntType(32)
    mask = _lane_mask(builder, vector_type.count, args[2])
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vector_type, [vector_type.as_pointer(), i32, mask.type, vector_type]),
        f"llvm.masked.load.{_suffix(vector_type)}.p0{_suffix(vector_type)}")
    ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), vector_type.as_pointer())
    return builder.call(fn, [ptr, ir.Constant(i32, sig.args[0].dtype.bitwidth // 8), mask,
                             ir.Constant(vector_type, None)])


@intrinsic
def vload_n(typingctx, array, idx, n):
    _check(array)
    vt = Vec(array.dtype)

    def codegen(context, builder, sig, args):
        return _masked_load(context, builder, sig, args, context.get_value_type(vt))
    return vt(array, idx, n), codegen


@intrinsic
def vstore_n(typingctx, array, idx, v, n):
    _check(array)
    if not (isinstance(v, Vec) and v.dtype == array.dtype):
        raise TypeError(f"vstore_n: a vector of {array.dtype} into {array}")

    def codegen(context, builder, sig, args):
        ll = args[2].type
        i32 = ir.IntType(32)
        mask = _lane_mask(builder, ll.count, args[3])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ll, ll.as_pointer(), i32, mask.type]),
            f"llvm.masked.store.{_suffix(ll)}.p0{_suffix(ll)}")
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), ll.as_pointer())
        builder.call(fn, [args[2], ptr, ir.Constant(i32, array.dtype.bitwidth // 8), mask])
        return context.get_dummy_value()
    return types.void(array, idx, v, n), codegen


@intrinsic
def vscatter_n(typingctx, array, idx, stride, v, n):
    _check(array)
    if not (isinstance(v, Vec) and v.dtype == array.dtype):
        raise TypeError(f"vscatter_n: a vector of {array.dtype} into {array}")

    def codegen(context, builder, sig, args):
        ll = args[3].type
        i32, i64 = ir.IntType(32), ir.IntType(64)
        lanes_i64 = ir.VectorType(i64, ll.count)
        stride_v = _splat(builder, lanes_i64, args[2] if args[2].type.width == 64 else builder.sext(args[2], i64))
        item = ir.Constant(lanes_i64, [array.dtype.bitwidth // 8] * ll.count)
        offsets = builder.mul(builder.mul(ir.Constant(lanes_i64, list(range(ll.count))), stride_v), item)
        base = builder.ptrtoint(_address(context, builder, sig.args[0], args[0], args[1]), i64)
        ptrs = builder.inttoptr(builder.add(_splat(builder, lanes_i64, base), offsets),
                                ir.VectorType(ll.element.as_pointer(), ll.count))
        mask = _lane_mask(builder, ll.count, args[4])
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [ll, ptrs.type, i32, mask.type]),
            f"llvm.masked.scatter.{_suffix(ll)}.v{ll.count}p0{_suffix(ll)[len(str(ll.count)) + 1:]}")
        builder.call(fn, [args[3], ptrs, ir.Constant(i32, array.dtype.bitwidth // 8), mask])
        return context.get_dummy_value()
    return types.void(array, idx, stride, v, n), codegen


@intrinsic
def vstore(typingctx, array, idx, v):
    _check(array)
    if not (isinstance(v, Vec) and v.dtype == array.dtype):
        raise TypeError(f"vstore: a vector of {array.dtype} into {array}")

    def codegen(context, builder, sig, args):
        ll = args[2].type
        ptr = builder.bitcast(_address(context, builder, sig.args[0], args[0], args[1]), ll.as_pointer())
        builder.store(args[2], ptr, align=array.dtype.bitwidth // 8)
        return context.get_dummy_value()
    return types.void(array, idx, v), codegen


def _byte_count(builder, n, itemsize):
    """``max(n, 0) * itemsize`` as an i64 (n any integer)."""
    i64 = ir.IntType(64)
    count = n if n.type.width == 64 else builder.sext(n, i64)
    count = builder.select(builder.icmp_signed("<", count, ir.Constant(i64, 0)), ir.Constant(i64, 0), count)
    return builder.mul(count, ir.Constant(i64, itemsize))


@intrinsic
def copy_n(typingctx, dst, d, src, s, n):
    _check(dst)
    _check(src)
    if src.dtype != dst.dtype:
        raise TypeError(f"copy_n: {src} into {dst}")

    def codegen(context, builder, sig, args):
        cgutils.raw_memmove(builder, _address(context, builder, sig.args[0], args[0], args[1]),
                           _address(context, builder, sig.args[2], args[2], args[3]),
                           _byte_count(builder, args[4], dst.dtype.bitwidth // 8), 1)
        return context.get_dummy_value()
    return types.void(dst, d, src, s, n), codegen


def _deal(k):
    """``vdeal<k>_n(a, idx, n)``: the ``k * L`` elements from ``a[idx]`` dealt into k vectors, vector p holding
    ``a[idx + p], a[idx + p + k], ...``, reading only ``a[idx : idx + n]`` (the lanes past them are 0): one
    masked wide load and k shuffles (LLVM's vpermt2 sequences)."""
    def codegen(context, builder, sig, args):
        ll = context.get_value_type(sig.return_type.dtype)
        wide = ir.VectorType(ll.element, ll.count * k)
        i32 = ir.IntType(32)
        v = _masked_load(context, builder, sig, args, wide)
        picks = [ir.Constant(ir.VectorType(i32, ll.count), [j * k + p for j in range(ll.count)]) for p in range(k)]
        parts = [builder.shuffle_vector(v, ir.Constant(wide, None), pick) for pick in picks]
        return context.make_tuple(builder, sig.return_type, parts)

    def typer(typingctx, array, idx, n):
        _check(array)
        return types.UniTuple(Vec(array.dtype), k)(array, idx, n), codegen
    typer.__name__ = f"vdeal{k}_n"
    return intrinsic(typer)


vdeal2_n, vdeal3_n = _deal(2), _deal(3)


def _binary(name, emit):
    def typer(typingctx, a, b):
        if not (isinstance(a, Vec) and a == b):
            raise TypeError(f"{name} takes two vectors of one type")

        def codegen(context, builder, sig, args):
            return emit(builder, *args)
        return a(a, b), codegen
    typer.__name__ = name
    return intrinsic(typer)


vadd = _binary("vadd", lambda builder, a, b: builder.fadd(a, b))
vsub = _binary("vsub", lambda builder, a, b: builder.fsub(a, b))
vmul = _binary("vmul", lambda builder, a, b: builder.fmul(a, b))
vmax = _binary("vmax", lambda builder, a, b: builder.select(builder.fcmp_ordered(">", a, b), a, b))


@njit(nogil=True, cache=True, inline="always")
def fma4x4(xs, i0, i1, i2, i3, ws, w0, step, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31,
           a32, a33):
    """One step of a 4 x 4 register block: a_cj += vload(xs, i_j) * ws[w0 + c * step], 4 loads, 4 broadcasts
    and 16 fused multiply-adds; returns the 16 accumulators (a00, a01, ..., a33)."""
    v0, v1, v2, v3 = vload(xs, i0), vload(xs, i1), vload(xs, i2), vload(xs, i3)
    w = vbcast(ws, w0)
    a00, a01, a02, a03 = vfma(v0, w, a00), vfma(v1, w, a01), vfma(v2, w, a02), vfma(v3, w, a03)
    w = vbcast(ws, w0 + step)
    a10, a11, a12, a13 = vfma(v0, w, a10), vfma(v1, w, a11), vfma(v2, w, a12), vfma(v3, w, a13)
    w = vbcast(ws, w0 + 2 * step)
    a20, a21, a22, a23 = vfma(v0, w, a20), vfma(v1, w, a21), vfma(v2, w, a22), vfma(v3, w, a23)
    w = vbcast(ws, w0 + 3 * step)
    a30, a31, a32, a33 = vfma(v0, w, a30), vfma(v1, w, a31), vfma(v2, w, a32), vfma(v3, w, a33)
    return a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33


@njit(nogil=True, cache=True, inline="always")
def splat4x4(b, i):
    """The 4 x 4 register block's 16 accumulators (a00, a01, ..., a33) started at a_cj = b[i + c]."""
    a0, a1, a2, a3 = vsplat(b[i]), vsplat(b[i + 1]), vsplat(b[i + 2]), vsplat(b[i + 3])
    return a0, a0, a0, a0, a1, a1, a1, a1, a2, a2, a2, a2, a3, a3, a3, a3
