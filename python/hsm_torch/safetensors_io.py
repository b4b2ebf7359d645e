"""Minimal safetensors reader/writer (numpy and torch only).

The `safetensors` package is not a dependency, so the format is implemented by
hand; it is the same layout src/io/safetensors.ts reads and writes:

    [8 bytes]  N = little-endian u64, length of the JSON header
    [N bytes]  UTF-8 JSON header:
                 {"<name>": {"dtype": "F32"|"F64"|"I32"|"I64", "shape": [...],
                             "data_offsets": [start, end]},
                  ...,
                  "__metadata__": {"<str>": "<str>"}}
               padded with trailing spaces so the data section starts at an
               8-byte aligned file offset.
    [rest]     raw little-endian tensor bytes, back to back, in the order of
               their data_offsets (offsets are relative to the data section).

Tensors are written in the order given, so output is byte-for-byte
deterministic.
"""

import json
import struct
from typing import Dict, Iterable, Mapping, Optional, Tuple, Union

import numpy as np
import torch

# safetensors dtype tag <-> little-endian numpy dtype
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}

ArrayLike = Union[np.ndarray, torch.Tensor]
Tensors = Union[Mapping[str, ArrayLike], Iterable[Tuple[str, ArrayLike]]]


def _as_numpy(t: ArrayLike) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().contiguous().numpy()
    return np.asarray(t)


def _tag_of(arr: np.ndarray) -> Tuple[str, np.dtype]:
    """(safetensors tag, little-endian numpy dtype) of an array."""
    for tag, dt in _DTYPES.items():
        if arr.dtype.kind == dt.kind and arr.dtype.itemsize == dt.itemsize:
            return tag, dt
    raise TypeError(f"unsupported dtype {arr.dtype}")


def write_safetensors(path: str, tensors: Tensors, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Write `tensors` (a dict, or (name, tensor) pairs; numpy arrays or torch
    tensors) to `path`, in the given order. `metadata` maps str -> str."""
    items = tensors.items() if isinstance(tensors, Mapping) else tensors
    header: Dict[str, object] = {}
    chunks = []
    offset = 0
    for name, t in items:
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        if name in header:
            raise ValueError(f"tensor {name!r} given twice")
        arr = _as_numpy(t)
        tag, dt = _tag_of(arr)
        data = np.ascontiguousarray(arr, dtype=dt).tobytes(order="C")
        header[name] = {
            "dtype": tag,
            "shape": [int(s) for s in arr.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("metadata must map str -> str")
        header["__metadata__"] = dict(metadata)

    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # pad so that 8 + len(header) is a multiple of 8 (data 8-byte aligned)
    hbytes += b" " * ((-len(hbytes)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for c in chunks:
            f.write(c)


def read_safetensors_numpy(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Read a safetensors file as numpy arrays: (tensors in file order, metadata)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    expected = 0
    # the tensors must tile the data section: sorted by offset, no gaps or overlaps
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        if start != expected:
            raise ValueError(f"{path}: {name}: non-contiguous data offsets")
        dt = _DTYPES[info["dtype"]]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - start != count * dt.itemsize:
            raise ValueError(f"{path}: {name}: byte length does not match shape/dtype")
        tensors[name] = np.frombuffer(data[start:end], dtype=dt).reshape(shape).copy()
        expected = end
    if expected != len(data):
        raise ValueError(f"{path}: trailing bytes after the last tensor")
    return tensors, metadata


def read_safetensors(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Read a safetensors file: (name -> torch.Tensor in file order, metadata)."""
    arrays, metadata = read_safetensors_numpy(path)
    return {name: torch.from_numpy(a) for name, a in arrays.items()}, metadata
