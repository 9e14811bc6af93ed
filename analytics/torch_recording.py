"""Recording a PyTorch module's forward pass: the torch calls that depend on its input (torch is imported here
only).

The module is traced with torch.fx (`symbolic_trace`); its graph is then run once on a seeded random input of
`input_shape` under a recorder, a `TorchFunctionMode` that sees every torch function and tensor method at the
Python API level (F.conv2d, F.interpolate, x + y, x.view, torch.cat, ...). fx gives each call its module path
(`nn_module_stack`); when fx cannot trace the module (data-dependent control flow, unsupported Python), the
module itself is run under the recorder and forward pre/post hooks give the module paths. Either way every
call whose tensor arguments depend on the input becomes a `Call`, its input-dependent arguments `Ref`s to the
calls that made them; calls on constants only (parameters, buffers, arange/exp/sin/cos of a timestep
embedding, ...) are not recorded, their values stay tensors in the arguments of the calls that use them, and
the recorder notes which of them derive from trainable parameters. The recorded shapes are the traced ones.

Cost: one forward pass of the module, plus O(tensor arguments) per torch call; at most MAX_CALLS calls are
recorded.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import CheckerlabError
from .stack import MAX_ELEMENTS

MAX_CALLS = 200_000


def _torch():
    try:
        import torch
    except ImportError:
        raise CheckerlabError("from_torch needs PyTorch: pip install 'checkerlab[torch]'") from None
    return torch


@dataclass(frozen=True)
class Ref:
    """An input-dependent tensor: the name of the node that produced it."""

    name: str


@dataclass
class Call:
    """One recorded torch call: its function name and kind, arguments with input-dependent tensors as
    Refs, its tensor output(s), and the module path and type it ran in."""

    name: str
    kind: str  # 'method', 'torch' or 'F'
    args: tuple
    kwargs: dict
    out: Any
    module: str
    module_type: str
    outputs: list[str] = field(default_factory=list)


def _canonical(func) -> tuple[str, str]:
    """(name, kind) of a torch callable: 'add', 'method' for Tensor.add / x + y ..."""
    name = getattr(func, "__name__", str(func))
    module = getattr(func, "__module__", None) or ""
    qual = getattr(func, "__qualname__", "")
    if "Tensor" in qual.split(".")[0] or module in ("torch._tensor",) and "Tensor" in qual:
        return name, "method"
    if module.startswith("torch.nn.functional") or module == "torch._C._nn":
        return name, "F"
    return name, "torch"


class Recorder:
    """Records the input-dependent torch calls of one forward pass (see the module docstring)."""

    def __init__(self, torch):
        from torch.overrides import TorchFunctionMode

        recorder = self
        self.torch = torch
        self.calls: list[Call] = []
        self.live: dict[int, tuple[Any, str]] = {}  # id(tensor) -> (weakref, node name)
        self.learned: dict[int, Any] = {}  # id -> weakref of tensors derived from trainable parameters
        self.scope: list[tuple[str, str]] = [("", "")]
        self.names: set[str] = {"input"}

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):
                kwargs = kwargs or {}
                out = func(*args, **kwargs)
                recorder.observe(func, args, kwargs, out)
                return out

        self.mode = Mode()

    # ------------------------------------------------------------------------------------ tensor identity
    def ref(self, t) -> str | None:
        entry = self.live.get(id(t))
        if entry is not None and entry[0]() is t:
            return entry[1]
        return None

    def register(self, t, name: str) -> None:
        self.live[id(t)] = (weakref.ref(t), name)

    def is_learned(self, t) -> bool:
        if isinstance(t, self.torch.nn.Parameter) and t.requires_grad:
            return True
        entry = self.learned.get(id(t))
        return entry is not None and entry() is t

    def tensors(self, obj):
        """The tensors in a (nested) argument or output, in order."""
        if isinstance(obj, self.torch.Tensor):
            yield obj
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                yield from self.tensors(o)
        elif isinstance(obj, dict):
            for o in obj.values():
                yield from self.tensors(o)

    def _swap(self, obj):
        """Arguments with input-dependent tensors replaced by Refs."""
        if isinstance(obj, self.torch.Tensor):
            name = self.ref(obj)
            return Ref(name) if name is not None else obj
        if isinstance(obj, (list, tuple)):
            return type(obj)(self._swap(o) for o in obj) if not hasattr(obj, "_fields") \
                else type(obj)(*(self._swap(o) for o in obj))
        if isinstance(obj, dict):
            return {k: self._swap(v) for k, v in obj.items()}
        return obj

    def observe(self, func, args, kwargs, out) -> None:
        tensors = list(self.tensors((args, kwargs)))
        depends = any(self.ref(t) is not None for t in tensors)
        outs = list(self.tensors(out))
        if not depends:  # constant: note whether it derives from trainable parameters
            if any(self.is_learned(t) for t in tensors):
                for o in outs:
                    self.learned[id(o)] = weakref.ref(o)
            return
        if not outs:
            return  # sizes, dims, comparisons to Python values: baked into the trace
        if len(self.calls) >= MAX_CALLS:
            raise CheckerlabError(f"the model makes more than {MAX_CALLS:,} tensor calls in one forward pass")
        name, kind = _canonical(func)
        module, module_type = self.scope[-1]
        call = Call(name, kind, self._swap(tuple(args)), self._swap(dict(kwargs)), out, module, module_type)
        base = module or name
        for o in outs:
            node = base if base not in self.names else f"{base}/{name}"
            k = 2
            while node in self.names:
                node = f"{base}/{name}_{k}"
                k += 1
            self.names.add(node)
            call.outputs.append(node)
            self.register(o, node)
        self.calls.append(call)


def _record_fx(torch, module, x, recorder: Recorder) -> bool:
    """Run the fx-traced module under the recorder; False when fx cannot trace it or its traced graph does
    not run (e.g. a Python check on a proxy baked in a wrong branch)."""
    import torch.fx

    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception:  # noqa: BLE001 - any tracing failure means: use the hooks instead
        return False

    class Interp(torch.fx.Interpreter):
        def run_node(self, n):
            stack = n.meta.get("nn_module_stack") or {}
            if n.op == "call_module":
                path, typ = str(n.target), type(gm.get_submodule(str(n.target))).__name__
            elif stack:
                path, entry = list(stack.items())[-1]
                path = entry[0] if isinstance(entry, tuple) else path
                typ = entry[1].__name__ if isinstance(entry, tuple) and hasattr(entry[1], "__name__") else ""
            else:
                path, typ = "", ""
            recorder.scope.append((path, typ))
            try:
                return super().run_node(n)
            finally:
                recorder.scope.pop()

    try:
        with recorder.mode:
            recorder.output = Interp(gm).run(x)
    except CheckerlabError:
        raise
    except Exception:  # noqa: BLE001 - the traced graph differs from the module: use the hooks
        return False
    return True


def _record_hooks(torch, module, x, recorder: Recorder, kwargs: dict) -> None:
    """Run the module itself under the recorder (with constant extra arguments `kwargs`); forward hooks give
    the module paths."""
    handles = []
    for path, m in module.named_modules():
        if not path:
            continue

        def pre(mod, args, path=path):
            recorder.scope.append((path, type(mod).__name__))

        def post(mod, args, out):
            recorder.scope.pop()

        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        with recorder.mode:
            recorder.output = module(x, **kwargs)
    finally:
        for h in handles:
            h.remove()


def _input_shape(input_shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in input_shape)
        ok = len(shape) >= 2 and all(v >= 1 for v in shape) \
            and all(not isinstance(v, bool) and int(v) == v for v in input_shape)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise CheckerlabError(f"input_shape={input_shape!r} must be (N, C, H, W) (or (N, features)) of positive "
                              "ints")
    if int(np.prod(shape[1:], dtype=object)) > MAX_ELEMENTS:
        raise CheckerlabError(f"input_shape={shape} exceeds the memory budget of {MAX_ELEMENTS:,} values")
    return (1, *shape[1:])


def record(module, input_shape, *, seed: int = 0, trace: str = "auto", forward_kwargs: dict | None = None):
    """(recorder, shape, output name): the input-dependent calls of one forward pass of `module` (put in eval
    mode, without gradients) on a seeded random input of `shape`, `input_shape` with N = 1, and the node name of
    its (first) output tensor. `trace` is 'auto' (fx, falling back to forward hooks), 'fx' or 'hooks';
    `forward_kwargs` are extra forward arguments held constant (they need the hooks)."""
    forward_kwargs = forward_kwargs or {}
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise CheckerlabError(f"from_torch needs a torch.nn.Module, got {type(module).__name__}")
    if trace not in ("auto", "fx", "hooks"):
        raise CheckerlabError(f"trace={trace!r} must be 'auto', 'fx' or 'hooks'")
    shape = _input_shape(input_shape)
    tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
    dtype = tensors[0].dtype if tensors else torch.float32
    if any(t.device.type != "cpu" for t in tensors):
        raise CheckerlabError("the module has parameters off the CPU: move it with module.cpu() first")
    if dtype not in (torch.float32, torch.float64):
        raise CheckerlabError(f"the module's parameters are {dtype}: convert it with module.float() first")
    module.eval()
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randn(shape, generator=gen, dtype=dtype)
    with torch.no_grad():
        try:
            recorder = None
            if trace in ("auto", "fx") and not forward_kwargs:
                recorder = Recorder(torch)
                recorder.register(x, "input")
                if not _record_fx(torch, module, x, recorder):
                    if trace == "fx":
                        raise CheckerlabError("torch.fx cannot trace this module; use trace='hooks'")
                    recorder = None
            if recorder is None:
                recorder = Recorder(torch)
                recorder.register(x, "input")
                _record_hooks(torch, module, x, recorder, forward_kwargs)
        except CheckerlabError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's model failed on this input
            msg = " ".join(str(exc).split())[:200]
            raise CheckerlabError(f"the module's forward failed on an input of shape {shape}: "
                                  f"{type(exc).__name__}: {msg}") from None
    out = _first_tensor(torch, recorder.output)
    if out is None:
        raise CheckerlabError("the module returned no tensor")
    out_name = recorder.ref(out)
    if out_name is None:
        raise CheckerlabError("the module's output does not depend on its input")
    return recorder, shape, out_name


def _first_tensor(torch, out):
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict) or hasattr(out, "values") and callable(out.values):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        for o in out:
            t = _first_tensor(torch, o)
            if t is not None:
                return t
    return None
