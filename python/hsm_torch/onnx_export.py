"""hsm models as ONNX graphs, written by torch.onnx.export (`hsm export --onnx`).

Run by the TypeScript CLI, which checks the run folder and writes a job file:

    PYTHONPATH=python python3 -m hsm_torch.onnx_export JOB.json [JOB.json ...]

JOB.json: {"description": <src/model/describe.ts's JSON>, "weights": <a
safetensors file of the model's parameters, our names>, "out": <an existing
folder>}. Into `out` go:

- model.onnx: input_ids int64 [batch, sequence] -> logits float32
  [batch, sequence, vocab], both axes dynamic (forward()).
- decoder.onnx: one token per sequence, the recurrent form
  (HsmTransformer.decode_step): input_ids [batch, 1], position_ids [batch, 1]
  when the model has learned or rotary positions, and the decoding state; outputs
  logits [batch, 1, vocab] and the next state. Attention layer N carries its
  KV cache as Hugging Face Optimum names it, past_key_values.N.key/.value
  [batch, n_head, past_sequence_length, head_dim] -> present.N.key/.value;
  HSM layer N carries the window of the last L rows it shifts (L its largest
  lag), past_window.N [batch, L, n_embd] -> present_window.N (pair shifts its
  keys and values: past_window.N.key and .value). A window starts as zeros
  and keeps its size at every position.
- interface.json: the decoder's inputs and outputs, and each state tensor's
  shape and how it starts, for programs that drive decoder.onnx.

Several jobs share one process, since importing torch takes seconds. One
`@hsm {json}` line per job reports what was written. A model the export
cannot express ends the process with exit status 2 and one line on stderr.
"""

import json
import os
import signal
import sys
import traceback
import warnings
from typing import Dict, List

import torch
import torch.nn as nn

from .model import HsmTransformer, Norm
from .parity import load_weights
from .safetensors_io import read_safetensors

INTERFACE_FORMAT = "hsm-onnx-interface/1"
# 17: LayerNormalization is one ONNX op (fused by runtimes); torch 1.13 exports up to 17.
OPSET = 17
# A protobuf message, so an .onnx file without external data, holds at most 2 GiB.
MAX_ONNX_BYTES = 2**31 - 1
UNSUPPORTED_EXIT = 2


class Unsupported(Exception):
    """A model the export cannot express; the message says why and what to do."""


def state_layout(model: HsmTransformer) -> List[Dict]:
    """Every decoding-state tensor in graph order: its input and output names, shape
    (strings name the dynamic axes) and layer."""
    desc = model.desc
    C, H = desc["n_embd"], desc["n_head"]
    layout = []
    for l, block in enumerate(model.h):
        if block.is_attention:
            for part in ("key", "value"):
                layout.append(
                    {
                        "layer": l,
                        "kind": "kv_cache",
                        "input": f"past_key_values.{l}.{part}",
                        "output": f"present.{l}.{part}",
                        "shape": ["batch", H, "past_sequence_length", C // H],
                        "output_shape": ["batch", H, "past_sequence_length + 1", C // H],
                    }
                )
        else:
            for part in block.mix.prepared_names:
                suffix = f".{part}" if part else ""
                shape = ["batch", block.mix.window, C]
                layout.append(
                    {
                        "layer": l,
                        "kind": "window",
                        "input": f"past_window.{l}{suffix}",
                        "output": f"present_window.{l}{suffix}",
                        "shape": shape,
                        "output_shape": shape,
                    }
                )
    return layout


class WholeSequence(nn.Module):
    """model.onnx: input_ids -> logits."""

    def __init__(self, model: HsmTransformer):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids)[0]


class DecoderStep(nn.Module):
    """decoder.onnx: input_ids [, position_ids], state... -> logits, next state...
    (flat, in state_layout's order)."""

    def __init__(self, model: HsmTransformer):
        super().__init__()
        self.model = model
        self.takes_positions = model.wpe is not None or model.rotary
        self.counts = [len(s) for s in _per_layer(state_layout(model), len(model.h))]

    def forward(self, input_ids: torch.Tensor, *rest: torch.Tensor):
        positions = rest[0] if self.takes_positions else None
        flat = list(rest[1:] if self.takes_positions else rest)
        states, at = [], 0
        for n in self.counts:
            states.append(flat[at : at + n])
            at += n
        logits, next_states = self.model.decode_step(input_ids, positions, states)
        return (logits, *[t for s in next_states for t in s])


def _per_layer(layout: List[Dict], n_layer: int) -> List[List[Dict]]:
    return [[s for s in layout if s["layer"] == l] for l in range(n_layer)]


def give_layer_norms_a_bias(model: HsmTransformer) -> None:
    """A LayerNorm without bias becomes one with a zero bias: the same function.
    torch 1.13 writes the bias-less one as LayerNormalization with its bias
    input omitted (named ""), on which ONNX Runtime 1.31 crashes (SIGSEGV)."""
    for m in model.modules():
        if isinstance(m, Norm) and not m.rms and m.bias is None:
            m.bias = nn.Parameter(torch.zeros_like(m.weight), requires_grad=False)


def check_size(model: HsmTransformer) -> None:
    """Raises Unsupported when the weights exceed what one .onnx file holds."""
    size = 4 * sum(p.numel() for p in model.parameters())
    if size > MAX_ONNX_BYTES:
        raise Unsupported(
            f"the model's weights take {size / 2**30:.1f} GiB, more than one .onnx file holds (2 GiB: this export "
            "writes no external data files); export a smaller model"
        )


def export(job: dict) -> dict:
    desc, out = job["description"], job["out"]
    try:
        model = HsmTransformer.from_description(desc).float().eval()
    except (ValueError, AssertionError, KeyError) as err:
        raise Unsupported(f"hsm_torch cannot build this model ({err}); export it with a version that knows its blocks") from None
    check_size(model)
    weights, _ = read_safetensors(job["weights"])
    load_weights(model, weights)
    for p in model.parameters():
        p.requires_grad_(False)
    give_layer_norms_a_bias(model)

    layout = state_layout(model)
    V, B, T, P = desc["vocab_size"], 2, 5, 3  # traced at batch 2, 5 tokens, 3 cached positions; all dynamic
    # A dummy sequence no longer than the context (learned positions and attention end there).
    T = min(T, desc["block_size"])
    P = min(P, desc["block_size"] - 1)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, V, (B, T), generator=gen)
    with warnings.catch_warnings():
        # The tracer warns about Python-level checks (the context-length test in forward), which are not part of the graph.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            WholeSequence(model),
            (ids,),
            os.path.join(out, "model.onnx"),
            input_names=["input_ids"],
            output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )

        decoder = DecoderStep(model)
        inputs = [ids[:, :1]]
        input_names = ["input_ids"]
        dynamic = {"input_ids": {0: "batch"}, "logits": {0: "batch"}}
        if decoder.takes_positions:
            inputs.append(torch.full((B, 1), P, dtype=torch.int64))
            input_names.append("position_ids")
            dynamic["position_ids"] = {0: "batch"}
        for s in layout:
            shape = [B if d == "batch" else P if d == "past_sequence_length" else d for d in s["shape"]]
            inputs.append(torch.randn(*shape, generator=gen))
            input_names.append(s["input"])
            axes = {i: d for i, d in enumerate(s["shape"]) if isinstance(d, str)}
            dynamic[s["input"]] = axes
            dynamic[s["output"]] = {i: d for i, d in enumerate(s["output_shape"]) if isinstance(d, str)}
        torch.onnx.export(
            decoder,
            tuple(inputs),
            os.path.join(out, "decoder.onnx"),
            input_names=input_names,
            output_names=["logits"] + [s["output"] for s in layout],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
        )

    interface = {
        "format": INTERFACE_FORMAT,
        "opset": OPSET,
        "torch": torch.__version__,
        "vocab_size": V,
        "model": {"inputs": {"input_ids": ["batch", "sequence"]}, "outputs": {"logits": ["batch", "sequence", V]}},
        "decoder": {
            "inputs": ["input_ids"] + (["position_ids"] if decoder.takes_positions else []),
            "outputs": ["logits"],
            "state": [{k: s[k] for k in ("input", "output", "shape", "kind", "layer")} for s in layout],
        },
        # Learned positions and KV caches end at the context; pure HSM decodes on at constant cost.
        "max_positions": desc["block_size"] if model.bounded else None,
    }
    with open(os.path.join(out, "interface.json"), "w", encoding="utf-8") as f:
        json.dump(interface, f, indent=2)
        f.write("\n")
    return {"out": out, "state": len(layout), "positions": decoder.takes_positions}


def die_with_parent() -> None:
    """Linux: end with the CLI that started us, so that an export killed outright
    does not go on writing into its temporary folder."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # elsewhere the export finishes on its own and the next export removes the folder


def main(argv: List[str]) -> int:
    if not argv:
        print("usage: python3 -m hsm_torch.onnx_export JOB.json [JOB.json ...]", file=sys.stderr)
        return UNSUPPORTED_EXIT
    die_with_parent()
    torch.set_num_threads(1)  # small graphs to trace: threads cost more than they give
    for path in argv:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
        try:
            result = export(job)
        except Unsupported as err:
            print(f"cannot export to ONNX: {err}", file=sys.stderr)
            return UNSUPPORTED_EXIT
        except Exception as err:  # a failure of the exporter: the traceback, then one line for the CLI to show
            traceback.print_exc()
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            print(f"torch.onnx.export failed: {type(err).__name__}: {first}", file=sys.stderr)
            return 1
        print("@hsm " + json.dumps({"event": "exported", **result}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
