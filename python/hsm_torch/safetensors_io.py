"""safetensors files from numpy arrays or torch tensors (the `safetensors` package is not in Debian).

Layout: an 8-byte little-endian header length, a JSON header
({name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}) padded
with spaces to 8 bytes, then the tensors' little-endian bytes back to back.
Tensors are written in the order given, so output is deterministic. Reading
checks that the tensors tile the data section exactly, as src/io/safetensors.ts does.
"""

import json
import os
import struct

import numpy as np
import torch

DTYPES = {"F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "I64": np.dtype("<i8"), "I32": np.dtype("<i4")}


def dtype_tag(arr: np.ndarray) -> str:
    for tag, dt in DTYPES.items():
        if arr.dtype.kind == dt.kind and arr.dtype.itemsize == dt.itemsize:
            return tag
    raise TypeError(f"unsupported dtype {arr.dtype}")


def as_numpy(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().contiguous().numpy()
    return np.asarray(t)


def encode(tensors, metadata=None) -> list:
    """The file as a list of byte chunks; `tensors` is a dict or a list of (name, array or tensor) in file order."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    header, chunks, offset = {}, [], 0
    for name, arr in items:
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        if name in header:
            raise ValueError(f"tensor {name!r} given twice")
        arr = as_numpy(arr)
        tag = dtype_tag(arr)
        data = np.ascontiguousarray(arr, dtype=DTYPES[tag]).tobytes()
        header[name] = {"dtype": tag, "shape": [int(s) for s in arr.shape], "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("metadata must map str -> str")
        header["__metadata__"] = dict(metadata)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * ((-len(head)) % 8)  # the data section starts 8-byte aligned
    return [struct.pack("<Q", len(head)), head] + chunks


def write_safetensors(path: str, tensors, metadata=None) -> None:
    with open(path, "wb") as f:
        for chunk in encode(tensors, metadata):
            f.write(chunk)


def write_safetensors_atomic(path: str, tensors, metadata=None) -> None:
    """Readers see the old file or the new one, never a partial one (the same temporary name as src/io/atomic.ts)."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            for chunk in encode(tensors, metadata):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, path)


def parse_safetensors(raw: bytes, source: str = "safetensors data"):
    """(tensors in file order, metadata, data section) of a file's bytes; ValueError names what is wrong."""
    if len(raw) < 8:
        raise ValueError(f"{source}: too short to be a safetensors file ({len(raw)} bytes)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError(f"{source}: header length {n} exceeds the file size (truncated file?)")
    try:
        header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{source}: the header is not JSON ({err})") from None
    data = memoryview(raw)[8 + n :]
    metadata = header.pop("__metadata__", {}) or {}
    tensors, expected = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        start, end = info["data_offsets"]
        if start != expected:
            raise ValueError(f"{source}: tensor {name} does not start where the previous one ends")
        if info["dtype"] not in DTYPES:
            raise ValueError(f"{source}: tensor {name} has unsupported dtype {info['dtype']}")
        dt, shape = DTYPES[info["dtype"]], tuple(info["shape"])
        if end - start != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError(f"{source}: tensor {name}'s byte length does not match its shape and dtype")
        tensors[name] = np.frombuffer(data[start:end], dtype=dt).reshape(shape)
        expected = end
    if expected != len(data):
        raise ValueError(f"{source}: {len(data) - expected} bytes after the last tensor")
    return tensors, metadata, data


def read_safetensors_numpy(path: str):
    """(tensors: dict name -> numpy array in file order, metadata: dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    tensors, metadata, _ = parse_safetensors(raw, path)
    return {k: v.copy() for k, v in tensors.items()}, metadata


def read_safetensors(path: str):
    """(tensors: dict name -> torch.Tensor in file order, metadata: dict)."""
    arrays, metadata = read_safetensors_numpy(path)
    return {name: torch.from_numpy(a) for name, a in arrays.items()}, metadata
