"""Run folders, written and read exactly as src/train/checkpoint.ts does.

A run folder holds config.json (written by the TypeScript CLI only),
model.safetensors (weights, our names, metadata format/step) and
optimizer.safetensors (AdamW moments m.<name>, v.<name> plus optimizerStep,
rng, bestValLoss, elapsedS). Both safetensors files carry data_sha256, a
SHA-256 over their metadata, tensor layout and bytes, so either engine can
resume the other's run and catches a damaged file.

The save is ordered so that a kill at any instant leaves a resumable folder:
stage optimizer.next.safetensors, replace model.safetensors (the commit
point), then rename the staged state over optimizer.safetensors.

Both files also carry the run's identity (run_id, fixed_config), which the
TypeScript side computes and passes in launch.json; reads check the run id.
"""

import hashlib
import json
import os
import re

import numpy as np

from .safetensors_io import dtype_tag, parse_safetensors, write_safetensors_atomic

FORMAT = "hsm-checkpoint/1"
DIGEST = "data_sha256"
MODEL_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
STAGED_OPTIMIZER_FILE = "optimizer.next.safetensors"


class CheckpointError(Exception):
    """A run folder that cannot be used as it is; the message says what to do."""


def js_json(value) -> str:
    """JSON.stringify's output for the values checksums cover (strings, ints, lists)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def checksum(metadata: dict, layout: list, chunks) -> str:
    """SHA-256 of [sorted metadata without the digest, [[name, dtype, shape], …]] then the tensor bytes."""
    fields = sorted([k, v] for k, v in metadata.items() if k != DIGEST)
    h = hashlib.sha256(js_json([fields, layout]).encode("utf-8"))
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def with_checksum(metadata: dict, tensors: list) -> dict:
    layout = [[name, dtype_tag(arr), [int(s) for s in arr.shape]] for name, arr in tensors]
    chunks = [np.ascontiguousarray(arr).tobytes() for _, arr in tensors]
    return {**metadata, DIGEST: checksum(metadata, layout, chunks)}


def read_checked(folder: str, name: str):
    """(tensors, metadata) of a checkpoint file whose checksum (when it has one), format and step hold."""
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        tensors, metadata, data = parse_safetensors(raw, path)
    except (OSError, ValueError) as err:
        raise CheckpointError(f"checkpoint {folder}: {name} is missing or damaged ({err})") from None
    expected = metadata.get(DIGEST)
    layout = [[n, dtype_tag(t), list(t.shape)] for n, t in tensors.items()]
    if expected is not None and checksum(metadata, layout, [bytes(data)]) != expected:
        raise CheckpointError(f"checkpoint {folder}: {name} does not match the checksum saved with it; restore it or train again")
    if metadata.get("format", FORMAT) != FORMAT:
        raise CheckpointError(f"checkpoint {folder}: {name} has format {metadata.get('format')!r}, expected {FORMAT!r}")
    if not re.fullmatch(r"\d+", metadata.get("step", "")):
        raise CheckpointError(f"checkpoint {folder}: {name} records step {metadata.get('step')!r}, not a whole number")
    return tensors, metadata


def _file_step(path: str):
    try:
        folder, name = os.path.split(path)
        return int(read_checked(folder, name)[1]["step"])
    except CheckpointError:
        return None


def remove_stale_temporaries(folder: str) -> None:
    for name in os.listdir(folder):
        if re.fullmatch(r"\..+\.\d+\.tmp", name):
            os.remove(os.path.join(folder, name))


def settle(folder: str, model_step: int) -> None:
    """Finishes or undoes a save that a kill interrupted (the same rule as settleCheckpoint in TypeScript,
    which runs first: a staged file that is neither superfluous nor the weights' state is kept aside)."""
    remove_stale_temporaries(folder)
    staged = os.path.join(folder, STAGED_OPTIMIZER_FILE)
    if not os.path.exists(staged):
        return
    if _file_step(os.path.join(folder, OPTIMIZER_FILE)) == model_step:
        os.remove(staged)
    elif _file_step(staged) == model_step:
        os.replace(staged, os.path.join(folder, OPTIMIZER_FILE))
    else:
        aside = os.path.join(folder, "optimizer.next.unusable-torch.safetensors")
        os.replace(staged, aside)
        raise CheckpointError(f"checkpoint {folder}: no optimizer file holds the state of step {model_step}; the staged one was kept as {aside}")


def check_identity(folder: str, name: str, metadata: dict, identity: dict) -> None:
    """The file belongs to this run: the run id the TypeScript side passed (absent for runs of earlier versions)."""
    if metadata.get("run_id") != identity.get("run_id"):
        raise CheckpointError(f"checkpoint {folder}: {name} belongs to another run than config.json")


def load(folder: str, identity: dict):
    """(weights, moments {name: (m, v)}, training state) of a run folder's committed step."""
    weights, meta = read_checked(folder, MODEL_FILE)
    check_identity(folder, MODEL_FILE, meta, identity)
    step = int(meta["step"])
    settle(folder, step)
    tensors, opt_meta = read_checked(folder, OPTIMIZER_FILE)
    check_identity(folder, OPTIMIZER_FILE, opt_meta, identity)
    if int(opt_meta["step"]) != step:
        raise CheckpointError(
            f"checkpoint {folder}: model.safetensors is from step {step} but optimizer.safetensors from step {opt_meta['step']}"
        )
    moments = {}
    for name in weights:
        m, v = tensors.get(f"m.{name}"), tensors.get(f"v.{name}")
        if m is None or v is None or m.dtype != np.float32 or m.shape != weights[name].shape:
            raise CheckpointError(f"checkpoint {folder}: optimizer state for {name!r} is missing or not F32 {list(weights[name].shape)}")
        moments[name] = (m, v)
    best = json.loads(opt_meta.get("bestValLoss", "null"))
    state = {
        "step": step,
        "optimizer_step": int(opt_meta["optimizerStep"]),
        "rng": [int(w) for w in json.loads(opt_meta["rng"])],
        "best_val_loss": best,
        "elapsed_s": float(opt_meta.get("elapsedS", "0")),
    }
    return weights, moments, state


def save(folder: str, weights: list, moments: list, state: dict, identity: dict) -> None:
    """The ordered save; weights and moments are lists of (name, float32 array) in file order."""
    remove_stale_temporaries(folder)
    at = str(state["step"])
    meta = {"format": FORMAT, "step": at, **identity}
    # Numbers as Python writes them ("1e-05"): the TypeScript reader parses them with JSON.parse / Number.
    training = {
        **meta,
        "optimizerStep": str(state["optimizer_step"]),
        "rng": js_json(state["rng"]),
        "bestValLoss": "null" if state["best_val_loss"] is None else repr(float(state["best_val_loss"])),
        "elapsedS": repr(float(state["elapsed_s"])),
    }
    write_safetensors_atomic(os.path.join(folder, STAGED_OPTIMIZER_FILE), moments, with_checksum(training, moments))
    # A kill from here until the weights are renamed leaves the old step whole.
    write_safetensors_atomic(os.path.join(folder, MODEL_FILE), weights, with_checksum(meta, weights))
    # Committed: a resume finishes this rename if a kill comes first.
    os.replace(os.path.join(folder, STAGED_OPTIMIZER_FILE), os.path.join(folder, OPTIMIZER_FILE))
