"""Trained weights from a file: `.safetensors` read natively, `.pt` / `.pth` / `.bin` through PyTorch's
`torch.load(weights_only=True)`, never by unpickling arbitrary objects.

safetensors is parsed here with NumPy: an 8-byte little-endian header length, a JSON header of
{name: {dtype, shape, data_offsets}}, then the raw bytes. Every field is checked before any tensor is built
(header length and JSON, known dtypes, offsets inside the file, non-overlapping, byte count = shape x item
size, a total budget), so a corrupt or hostile file gets one CheckerlabError line. A PyTorch checkpoint may
wrap its state dict as {"state_dict": ...} or {"model": ...}; nested dicts are flattened with dots, within a
depth and entry budget. Its zip must declare at most the weights budget uncompressed (no zip bombs), and any
failure of torch's reader is one line too. Loaded tensors must be dense, real and finite.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .errors import CheckerlabError

#: Largest weights file read.
MAX_WEIGHTS_BYTES = 4 << 30
#: Largest safetensors JSON header.
MAX_HEADER_BYTES = 100 << 20

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_, "BF16": "bf16"}


def _bf16(raw: bytes, shape) -> np.ndarray:
    """bfloat16 bytes as float32: the high half of a float32."""
    bits = np.frombuffer(raw, np.uint16).astype(np.uint32) << 16
    return bits.view(np.float32).reshape(shape)


def read_safetensors(path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file, validated (see the module docstring)."""
    p = Path(path)
    size = p.stat().st_size
    name = p.name[:80]
    with open(p, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise CheckerlabError(f"{name}: not a safetensors file (shorter than its 8-byte header length)")
        n = int.from_bytes(head, "little")
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise CheckerlabError(f"{name}: not a safetensors file (header length {n:,} exceeds the file)")
        try:
            header = json.loads(fh.read(n).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: bad JSON, or a 5,000-digit int
            raise CheckerlabError(f"{name}: not a safetensors file (the header is not JSON)") from None
        if not isinstance(header, dict):
            raise CheckerlabError(f"{name}: not a safetensors file (the header is not a JSON object)")
        data_size = size - 8 - n
        spans, out = [], {}
        for key, info in header.items():
            if key == "__metadata__":
                continue
            if not isinstance(info, dict) or not isinstance(info.get("dtype"), str) or info["dtype"] not in _DTYPES:
                raise CheckerlabError(f"{name}: tensor {str(key)[:60]!r} has an unknown dtype")
            shape, offsets = info.get("shape"), info.get("data_offsets")
            if not (isinstance(shape, list) and all(isinstance(v, int) and v >= 0 for v in shape)
                    and isinstance(offsets, list) and len(offsets) == 2
                    and all(isinstance(v, int) for v in offsets) and 0 <= offsets[0] <= offsets[1] <= data_size):
                raise CheckerlabError(f"{name}: tensor {str(key)[:60]!r} has a bad shape or offsets (truncated?)")
            dtype = _DTYPES[info["dtype"]]
            itemsize = 2 if dtype == "bf16" else np.dtype(dtype).itemsize
            if math.prod(shape) * itemsize != offsets[1] - offsets[0]:
                raise CheckerlabError(f"{name}: tensor {str(key)[:60]!r} of shape {shape} does not fill its "
                                      f"{offsets[1] - offsets[0]:,} bytes")
            spans.append((offsets[0], offsets[1], key, dtype, shape))
        spans.sort()
        for (_, a1, k, _, _), (b0, _, _, _, _) in zip(spans, spans[1:], strict=False):
            if b0 < a1:
                raise CheckerlabError(f"{name}: tensor {str(k)[:60]!r} overlaps the next one")
        for start, stop, key, dtype, shape in spans:
            fh.seek(8 + n + start)
            raw = fh.read(stop - start)
            out[key] = _bf16(raw, shape) if dtype == "bf16" else np.frombuffer(raw, dtype).reshape(shape).copy()
    return out


#: Most nested dicts, and most entries, walked in a checkpoint (a hostile pickle can share one dict many times).
MAX_DEPTH = 32
MAX_ENTRIES = 1_000_000
#: Most entries of a checkpoint's zip (torch.save writes one per storage, plus five).
MAX_ZIP_ENTRIES = 100_000


def _flatten(obj: dict, name: str) -> dict:
    """{dotted name: value} of nested dicts with string keys, walked without recursion within MAX_DEPTH and
    MAX_ENTRIES (shared or self-referencing dicts cannot make it hang). O(entries)."""
    out: dict = {}
    todo = [("", obj, 0)]
    walked = 0
    while todo:
        prefix, d, depth = todo.pop()
        if depth > MAX_DEPTH:
            raise CheckerlabError(f"{name}: the checkpoint nests dicts more than {MAX_DEPTH} deep")
        walked += len(d)
        if walked > MAX_ENTRIES:
            raise CheckerlabError(f"{name}: the checkpoint holds more than {MAX_ENTRIES:,} entries")
        for key, value in d.items():
            if not isinstance(key, str):
                raise CheckerlabError(f"{name}: a key of the checkpoint is a {type(key).__name__}, not a name")
            if isinstance(value, dict):
                todo.append((f"{prefix}{key}.", value, depth + 1))
            else:
                out[f"{prefix}{key}"] = value
    return out


def _check_zip(path: Path, name: str) -> None:
    """A zip checkpoint (torch.save's format) must list at most MAX_ZIP_ENTRIES entries (read from its end
    record before the central directory is parsed) and declare at most MAX_WEIGHTS_BYTES uncompressed in all: a
    small file that inflates to gigabytes (a zip bomb) is refused before torch reads a byte. O(entries)."""
    import zipfile

    with open(path, "rb") as fh:  # the end record first: its entry count bounds what ZipFile builds
        end = zipfile._EndRecData(fh)
    if end is None:
        return  # not a zip: torch.load tries the legacy format and says what is wrong
    if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ZIP_ENTRIES:
        raise CheckerlabError(f"{name}: the checkpoint's zip lists {end[zipfile._ECD_ENTRIES_TOTAL]:,} entries, more "
                              f"than {MAX_ZIP_ENTRIES:,}")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return  # a broken zip: torch's reader says what is wrong
    total = sum(i.file_size for i in infos)
    if total > MAX_WEIGHTS_BYTES:
        raise CheckerlabError(f"{name}: the checkpoint's zip declares {total:,} bytes uncompressed, more than the "
                              f"budget of {MAX_WEIGHTS_BYTES:,} (a zip bomb?)")


def _check_tensor(torch, key: str, t, name: str) -> None:
    """A plain dense CPU tensor of real numbers with finite values (no sparse, quantized, complex or NaN)."""
    if t.layout != torch.strided or t.is_quantized or t.is_complex() or t.device.type != "cpu":
        raise CheckerlabError(f"{name}: {key[:60]!r} is a {t.layout} {t.dtype} tensor on {t.device.type}; a state "
                              "dict of dense real tensors is needed")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise CheckerlabError(f"{name}: {key[:60]!r} holds NaN or infinite values")


def read_torch_checkpoint(path) -> dict:
    """The tensors of a PyTorch checkpoint, loaded with weights_only=True (tensors, not numpy), after the zip
    budget; every load failure, hostile or corrupt, is one CheckerlabError line."""
    try:
        import torch
    except ImportError:
        raise CheckerlabError("reading .pt/.pth weights needs PyTorch: pip install 'checkerlab[torch]'") from None
    import pickle
    import warnings

    name = Path(path).name[:80]
    _check_zip(Path(path), name)
    try:
        with warnings.catch_warnings():  # torch's notes about pickle protocols are not the user's business
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # the reason follows torch's "WeightsUnpickler error:"
        text = str(exc).partition("WeightsUnpickler error:")[2].partition("Check the documentation")[0] or str(exc)
        first = " ".join(text.split())[:100] or "refused"
        raise CheckerlabError(f"{name}: torch.load(weights_only=True) refuses it ({first}); checkerlab never "
                              "unpickles arbitrary objects: save a plain state_dict") from None
    except Exception as exc:  # noqa: BLE001 - a corrupt file can fail anywhere in torch's reader
        msg = " ".join(str(exc).split())[:120]
        raise CheckerlabError(f"{name}: not a readable PyTorch checkpoint ({type(exc).__name__}: {msg})") from None
    if isinstance(obj, dict):
        for wrapper in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(wrapper), dict) and len(obj) <= 8:
                obj = obj[wrapper]
                break
        tensors = {k: v for k, v in _flatten(obj, name).items() if isinstance(v, torch.Tensor)}
        if tensors:
            return tensors
    raise CheckerlabError(f"{name}: the checkpoint holds no state dict of tensors")


def checked_file(path, budget: int) -> tuple[Path, int]:
    """(Path, size in bytes) of an existing regular file of at most `budget` bytes; a one-line
    CheckerlabError (names cut to a readable length) otherwise. Model and weights files both start here."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise CheckerlabError(f"{str(path)[:120]}: {exc.strerror or exc}") from None
    if not p.is_file():
        raise CheckerlabError(f"{str(path)[:120]}: not a file")
    if size > budget:
        raise CheckerlabError(f"{p.name[:80]}: {size:,} bytes exceed the budget of {budget:,}")
    return p, size


def read_weights(path) -> dict:
    """name -> tensor (NumPy for safetensors, torch for checkpoints) from a weights file."""
    p, _ = checked_file(path, MAX_WEIGHTS_BYTES)
    suffix = p.suffix.lower()
    if suffix == ".safetensors":
        return read_safetensors(p)
    if suffix in (".pt", ".pth", ".bin", ".ckpt"):
        return read_torch_checkpoint(p)
    raise CheckerlabError(f"{p.name[:80]}: use a .safetensors or a .pt/.pth state dict")


def load_weights(module, path) -> None:
    """Load a weights file into a torch module (strict: every key present, every shape equal, dense real
    finite tensors)."""
    import torch

    state = {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
             for k, v in read_weights(path).items()}
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0][:60]!r})")
        if extra:
            parts.append(f"{len(extra)} unexpected (e.g. {extra[0][:60]!r})")
        raise CheckerlabError(f"{Path(path).name[:60]}: the weights do not fit the model: {', '.join(parts)} keys")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckerlabError(f"{Path(path).name[:60]}: {k[:60]!r} has shape {tuple(v.shape)}, the model "
                                  f"expects {tuple(own[k].shape)}")
    for k, v in state.items():
        _check_tensor(torch, k, v, Path(path).name[:60])
    try:
        module.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        msg = " ".join(str(exc).split())[:120]
        raise CheckerlabError(f"{Path(path).name[:60]}: the model refuses the weights ({msg})") from None
