"""The hsm Transformer in PyTorch, built from a model description.

The TypeScript engine resolves plans, shift schedules, head groups, positions
and FFN width once and writes them as a model description (src/model/
describe.ts, format "hsm-model-description/1"); this module builds exactly that
model. GPT-2's skeleton (nanoGPT's names, without the `transformer.` prefix):

    x = drop(wte[idx] (+ wpe[0..T-1]))
    per block:  x = x + drop(mixer(ln_1(x)));  x = x + drop(mlp(ln_2(x)))
    logits = ln_f(x) @ wte^T                    (head tied to wte)

The description's block style (src/model/block-style.ts) chooses LayerNorm or
RMSNorm, a GELU or SwiGLU FFN, biases or none, and rotary positions in
attention; a description without those fields is GPT-2's block.

Parameter names and shapes equal our ParameterStore's, so state_dict() loads
our safetensors checkpoints directly.
"""

import json
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mixers import build_mixer, has_bias, init_linear, residual_std

DESCRIPTION_FORMAT = "hsm-model-description/1"


class MLP(nn.Module):
    """c_proj(gelu(c_fc(x))), GELU with GPT-2's tanh approximation (ours); or
    SwiGLU: c_fc holds the gate's rows then the up projection's, and
    c_proj(silu(gate) * up)."""

    def __init__(self, desc: dict):
        super().__init__()
        C, hidden = desc["n_embd"], desc["ffn_hidden"]
        self.swiglu = desc.get("ffn", "gelu") == "swiglu"
        bias = has_bias(desc)
        self.c_fc = init_linear(C, 2 * hidden if self.swiglu else hidden, 0.02, bias=bias)
        self.c_proj = init_linear(hidden, C, residual_std(desc), bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.swiglu:
            gate, up = self.c_fc(x).chunk(2, dim=-1)
            return self.c_proj(F.silu(gate) * up)
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Norm(nn.Module):
    """LayerNorm (with or without its bias: torch 1.13's nn.LayerNorm cannot drop
    it alone) or RMSNorm (x / sqrt(mean(x^2) + eps) * weight; not in torch 1.13)."""

    def __init__(self, desc: dict):
        super().__init__()
        C = desc["n_embd"]
        self.eps = desc["ln_eps"]
        self.rms = desc.get("norm", "layernorm") == "rmsnorm"
        self.weight = nn.Parameter(torch.ones(C))
        self.bias = nn.Parameter(torch.zeros(C)) if has_bias(desc) and not self.rms else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rms:
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
        # the weight's shape, a constant, not x's: an ONNX export (onnx_export.py) needs a static normalized_shape
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def dropout_module(p: float) -> nn.Module:
    # p = 0 is the identity: no mask work, and bit-identical outputs in training mode
    return nn.Dropout(p) if p > 0 else nn.Identity()


class Block(nn.Module):
    """Pre-LN block with its planned mixer: h.N.attn for attention, h.N.mix for HSM."""

    def __init__(self, desc: dict, block: dict):
        super().__init__()
        self.ln_1 = Norm(desc)
        self.is_attention = block["mixer"] == "attn"
        mixer = build_mixer(desc, block)
        if self.is_attention:
            self.attn = mixer
        else:
            self.mix = mixer
        self.ln_2 = Norm(desc)
        self.mlp = MLP(desc)
        self.drop = dropout_module(desc["dropout"])

    @property
    def mixer(self) -> nn.Module:
        return self.attn if self.is_attention else self.mix

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.mixer(self.ln_1(x)))
        x = x + self.drop(self.mlp(self.ln_2(x)))
        return x

    def step(self, x: torch.Tensor, state: List[torch.Tensor], positions: Optional[torch.Tensor] = None):
        """The recurrent form for one new position x [B, 1, C] (at positions [B, 1],
        which rotary attention reads): the mixer reads and returns its decoding
        state (a KV cache, or an HSM layer's windows)."""
        if self.is_attention:
            y, state = self.attn.step(self.ln_1(x), state, positions)
        else:
            y, state = self.mix.step(self.ln_1(x), state)
        x = x + y
        return x + self.mlp(self.ln_2(x)), state


class HsmTransformer(nn.Module):
    """Token (+ optional position) embeddings, planned blocks, ln_f, tied head.

    Initialisation follows ours by distribution (not bit for bit: ours draws
    from its own generator): N(0, 0.02) for embeddings and weights,
    N(0, 0.02/sqrt(2 n_layer)) for every c_proj (attention, [proj], pair, MLP),
    zero biases, unit LayerNorms, and each mixer's own (ab/channel/conv
    weights 1, gate and pair matrices N(0, 0.02)).
    """

    def __init__(self, desc: dict):
        super().__init__()
        if desc.get("format") != DESCRIPTION_FORMAT:
            raise ValueError(f"expected a model description of format {DESCRIPTION_FORMAT!r}, got {desc.get('format')!r}")
        if len(desc["blocks"]) != desc["n_layer"]:
            raise ValueError(f"{len(desc['blocks'])} blocks for n_layer {desc['n_layer']}")
        self.desc = desc
        V, C = desc["vocab_size"], desc["n_embd"]
        self.wte = nn.Embedding(V, C)
        nn.init.normal_(self.wte.weight, mean=0.0, std=0.02)
        if desc["positions"]:
            self.wpe = nn.Embedding(desc["block_size"], C)
            nn.init.normal_(self.wpe.weight, mean=0.0, std=0.02)
        else:
            self.wpe = None  # pure HSM: the shifts carry order
        self.drop = dropout_module(desc["dropout"])
        self.h = nn.ModuleList([Block(desc, b) for b in desc["blocks"]])
        self.ln_f = Norm(desc)
        # learned positions and attention end at the context; pure HSM runs on
        self.rotary = bool(desc.get("rotary", False)) and any(b["mixer"] == "attn" for b in desc["blocks"])
        self.bounded = desc["positions"] or any(b["mixer"] == "attn" for b in desc["blocks"])

    @classmethod
    def from_description(cls, desc: Union[dict, str]) -> "HsmTransformer":
        """Build from a description dict (or its JSON text)."""
        return cls(json.loads(desc) if isinstance(desc, str) else desc)

    def forward(
        self, idx: torch.Tensor, targets: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """idx [B, T] -> (logits [B, T, V], mean cross-entropy against targets or None).

        Targets of -1 are ignored (not counted in the mean), as in ours.
        """
        B, T = idx.shape
        if self.bounded and T > self.desc["block_size"]:
            raise ValueError(f"sequence length {T} exceeds the model's context {self.desc['block_size']}")
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T, device=idx.device))
        x = self.drop(x)
        for block in self.h:
            x = block(x)
        logits = self.head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """ln_f, then the output head tied to wte: [B, T, C] -> [B, T, V]."""
        return self.ln_f(x) @ self.wte.weight.t()

    def decode_step(self, idx: torch.Tensor, positions: Optional[torch.Tensor], states: List[List[torch.Tensor]]):
        """The recurrent form: one new token per sequence, idx [B, 1], at positions
        [B, 1] (read by learned and rotary positions), with each block's decoding state
        (Block.step). Returns (logits [B, 1, V], the blocks' next states). From
        zero windows and empty KV caches at position 0, step after step, it gives
        forward()'s logits position by position."""
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(positions)
        next_states = []
        for block, state in zip(self.h, states):
            x, state = block.step(x, state, positions)
            next_states.append(state)
        return self.head(x), next_states
