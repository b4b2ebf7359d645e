"""Forward + backward of a described model on given weights, for checking the engines agree.

    PYTHONPATH=python python3 -m hsm_torch.parity IN OUT [IN OUT ...]

IN (safetensors) holds the model weights under our parameter names (F32),
`input.idx` and `input.targets` (I32, [B, T]; target -1 is ignored), and the
model description JSON in the metadata key `description`. OUT receives
`logits` [B, T, V], `loss` [1] and `grad.<name>` for every parameter, all F32,
in IN's parameter order, and `init.<name>`: the parameter as hsm_torch
initialises it (torch seed 0), to compare initial distributions. Several
IN/OUT pairs share one process, since importing torch costs seconds.

The model runs in float32 and in eval mode: no dropout, as our forward pass
without a dropout generator.
"""

import json
import sys
from typing import Dict, List

import torch

from .model import HsmTransformer
from .safetensors_io import read_safetensors, write_safetensors

INPUTS = ("input.idx", "input.targets")


def load_weights(model: HsmTransformer, weights: Dict[str, torch.Tensor]) -> None:
    """Copy `weights` into the model; the names must be exactly its state_dict's (its parameters, no buffers)."""
    ours = dict(model.named_parameters())
    assert set(model.state_dict()) == set(ours), "the model registered buffers or parameters beyond ours"
    missing = sorted(set(ours) - set(weights))
    extra = sorted(set(weights) - set(ours))
    if missing or extra:
        raise ValueError(f"parameter names differ: missing {missing}, unexpected {extra}")
    with torch.no_grad():
        for name, t in weights.items():
            if tuple(t.shape) != tuple(ours[name].shape):
                raise ValueError(f"{name}: shape {list(t.shape)} but the model has {list(ours[name].shape)}")
            ours[name].copy_(t)


def run(in_path: str, out_path: str) -> None:
    tensors, metadata = read_safetensors(in_path)
    if "description" not in metadata:
        raise ValueError(f"{in_path}: no 'description' in the metadata")
    torch.manual_seed(0)
    model = HsmTransformer.from_description(json.loads(metadata["description"])).float().eval()
    weights = {n: t for n, t in tensors.items() if n not in INPUTS}
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    load_weights(model, weights)
    idx = tensors["input.idx"].long()
    targets = tensors["input.targets"].long()

    logits, loss = model(idx, targets)
    loss.backward()
    params = dict(model.named_parameters())
    out: List = [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
    for name in weights:  # IN's (our) order, not torch's registration order
        grad = params[name].grad
        out.append((f"grad.{name}", grad if grad is not None else torch.zeros_like(params[name])))
    out += [(f"init.{name}", init[name]) for name in weights]
    write_safetensors(out_path, out, {"torch_version": torch.__version__})


def main(argv: List[str]) -> None:
    if len(argv) < 2 or len(argv) % 2:
        sys.exit("usage: python3 -m hsm_torch.parity IN OUT [IN OUT ...]")
    torch.set_num_threads(1)  # small models: threads cost more than they give, and results stay deterministic
    for i in range(0, len(argv), 2):
        run(argv[i], argv[i + 1])


if __name__ == "__main__":
    main(sys.argv[1:])
