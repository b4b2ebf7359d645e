"""Minimal, dependency-free safetensors reader/writer (numpy only).

The `safetensors` Python package is not available here, so the format is
implemented by hand. File layout:

    [8 bytes]  N = little-endian u64, length of the JSON header
    [N bytes]  UTF-8 JSON header:
                 {"<name>": {"dtype": "F32"|"F64"|"I32", "shape": [...],
                             "data_offsets": [start, end]},
                  ...,
                  "__metadata__": {"<str>": "<str>"}}
               padded with trailing spaces so the data section starts at an
               8-byte aligned file offset.
    [rest]     raw little-endian tensor bytes, back to back, in the order of
               their data_offsets (offsets are relative to the data section).

Tensors are written in the insertion order of the dict passed to
`write_safetensors`, so output is byte-for-byte deterministic.
"""

import json
import struct

import numpy as np

# safetensors dtype tag <-> little-endian numpy dtype
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}
_TAGS = {v: k for k, v in _DTYPES.items()}


def _tag_of(arr):
    """Return (safetensors tag, little-endian numpy dtype) for an array."""
    for tag, dt in _DTYPES.items():
        if arr.dtype.kind == dt.kind and arr.dtype.itemsize == dt.itemsize:
            return tag, dt
    raise TypeError(f"unsupported dtype {arr.dtype}")


def write_safetensors(path, tensors, metadata=None):
    """Write `tensors` (dict name -> numpy array) to `path`.

    `metadata` is an optional dict of str -> str stored under "__metadata__".
    """
    header = {}
    chunks = []
    offset = 0
    for name, arr in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        arr = np.asarray(arr)
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


def read_safetensors(path):
    """Read a safetensors file. Returns (tensors, metadata).

    tensors: dict name -> numpy array (in file/header order)
    metadata: dict str -> str (empty if absent)
    """
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors = {}
    expected = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        if start != expected:
            raise ValueError(f"{name}: non-contiguous data offsets")
        dt = _DTYPES[info["dtype"]]
        shape = tuple(info["shape"])
        count = int(np.prod(shape)) if shape else 1
        if end - start != count * dt.itemsize:
            raise ValueError(f"{name}: byte length does not match shape/dtype")
        tensors[name] = np.frombuffer(data[start:end], dtype=dt).reshape(shape).copy()
        expected = end
    if expected != len(data):
        raise ValueError("trailing bytes after last tensor")
    return tensors, metadata
