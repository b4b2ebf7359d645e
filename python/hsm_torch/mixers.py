"""Token mixers: causal attention and the HSM mixers (docs/SPEC.md §2-§4).

One nn.Module per mixer of src/model/mixers/, with the same parameters under
the same names, shapes and initial distributions. Every module takes the model
description (`desc`) and its block (`block`: mixer, options, shifts) and maps
x [B, T, C] -> y [B, T, C].

HSM layers read x_{t-s}: position t of the input `s` steps back, zero before
the start of the sequence. With several head groups, the C channels split into
len(shifts) equal contiguous groups, group g shifted by shifts[g].
"""

import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# torch >= 2.0 has a fused attention kernel; 1.13 (Debian's) does not.
HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


def init_linear(n_in: int, n_out: int, std: float, bias: bool = True) -> nn.Linear:
    """nn.Linear (weight [out, in], as ours) with weight ~ N(0, std) and zero bias."""
    layer = nn.Linear(n_in, n_out, bias=bias)
    nn.init.normal_(layer.weight, mean=0.0, std=std)
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def residual_std(desc: dict) -> float:
    """GPT-2's scaled init of projections into the residual stream."""
    return 0.02 / math.sqrt(2 * desc["n_layer"])


def shift_time(x: torch.Tensor, s: int) -> torch.Tensor:
    """y[:, t] = x[:, t - s] for t >= s, zero for t < s (x is [B, T, ...])."""
    T = x.shape[1]
    if s == 0:
        return x
    zeros = x.new_zeros((x.shape[0], min(s, T)) + tuple(x.shape[2:]))
    return torch.cat([zeros, x[:, : max(T - s, 0)]], dim=1)


def shift_groups(x: torch.Tensor, shifts: Sequence[int]) -> torch.Tensor:
    """shift_time per equal channel group of the last dim (one shift per group)."""
    if len(set(shifts)) == 1:
        return shift_time(x, shifts[0])
    parts = x.chunk(len(shifts), dim=-1)
    return torch.cat([shift_time(p, s) for p, s in zip(parts, shifts)], dim=-1)


def has_bias(desc: dict) -> bool:
    """The block style's biases (a description without the field is GPT-2's block: biases on)."""
    return bool(desc.get("bias", True))


def rotary_tables(max_pos: int, dh: int, base: float, dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of p * base^(-2i/dh), [max_pos, dh/2], computed in float64 as ours, then cast."""
    i = torch.arange(dh // 2, dtype=torch.float64)
    theta = base ** (-2.0 * i / dh)
    angles = torch.arange(max_pos, dtype=torch.float64)[:, None] * theta[None, :]
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [B, H, T, Dh]: each head's halves (i, i + Dh/2) turn by position t's angle i (GPT-NeoX's pairing)."""
    T, half = x.shape[-2], x.shape[-1] // 2
    c, s = cos[:T], sin[:T]
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, b * c + a * s], dim=-1)


def expand_groups(v: torch.Tensor, C: int) -> torch.Tensor:
    """[G] -> [C]: each head group's value repeated over its C/G channels."""
    return v.repeat_interleave(C // v.shape[-1])


class CausalSelfAttention(nn.Module):
    """Causal multi-head softmax attention (GPT-2's, nanoGPT's names).

    qkv = c_attn(x) splits into q, k, v (C channels each, in that order); head
    h uses channels h*Dh..(h+1)*Dh of each; scores q k^T / sqrt(Dh), causal
    softmax, times v; heads concatenated in order, then c_proj. No dropout on
    the attention probabilities (ours has none). With rotary positions
    (desc["rotary"]) q and k turn by their positions before the scores.
    """

    def __init__(self, desc: dict, block: dict):
        super().__init__()
        C = desc["n_embd"]
        assert C % desc["n_head"] == 0, "n_embd must be divisible by n_head"
        self.n_head = desc["n_head"]
        self.c_attn = init_linear(C, 3 * C, 0.02, bias=has_bias(desc))
        self.c_proj = init_linear(C, C, residual_std(desc), bias=has_bias(desc))
        self.rotary = bool(desc.get("rotary", False))
        self.rotary_base = float(desc.get("rotary_base", 10000))
        self.block_size = desc["block_size"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        H, Dh = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, Dh).transpose(1, 2)  # [B, H, T, Dh]
        k = k.view(B, T, H, Dh).transpose(1, 2)
        v = v.view(B, T, H, Dh).transpose(1, 2)
        if self.rotary:
            cos, sin = rotary_tables(T, Dh, self.rotary_base, x.dtype)
            cos, sin = cos.to(x.device), sin.to(x.device)
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(Dh))  # [B, H, T, T]
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~causal, float("-inf"))
            y = F.softmax(att, dim=-1) @ v  # [B, H, T, Dh]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class ShiftMixer(nn.Module):
    """Base of the HSM mixers: y = c_proj(mix(x)), the projection only with [proj].

    c_proj is registered first, as ours registers it before the mixer's own
    parameters (its init draws come first in our generator).
    """

    def __init__(self, desc: dict, block: dict, proj: Optional[bool] = None):
        super().__init__()
        C = desc["n_embd"]
        self.shifts: List[int] = list(block["shifts"])
        assert self.shifts and C % len(self.shifts) == 0, f"{len(self.shifts)} head groups do not divide n_embd {C}"
        if proj is None:
            proj = bool(block["options"].get("proj", False))
        self.c_proj = init_linear(C, C, residual_std(desc), bias=has_bias(desc)) if proj else None

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mix(x)
        return self.c_proj(y) if self.c_proj is not None else y


class AbMix(ShiftMixer):
    """The paper's (a, b) mixer: y_t = a x_t + b x_{t-s}, scalars per head group."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        G = len(self.shifts)
        # a = b = 1: both tokens start with equal weight
        self.a = nn.Parameter(torch.ones(G))
        self.b = nn.Parameter(torch.ones(G))

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        C = x.shape[-1]
        return expand_groups(self.a, C) * x + expand_groups(self.b, C) * shift_groups(x, self.shifts)


class ChannelMix(ShiftMixer):
    """Per-channel weights: y_t = a * x_t + b * x_{t-s}, a, b in R^C."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        C = desc["n_embd"]
        self.a = nn.Parameter(torch.ones(C))
        self.b = nn.Parameter(torch.ones(C))

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * x + self.b * shift_groups(x, self.shifts)


class ConvMix(ShiftMixer):
    """Depthwise dilated causal convolution: y_t = sum_{j<k} w_j * x_{t-j*s}.

    k taps (option k, default 3), each a [C] vector starting at 1 (an
    unweighted sum, like ab's a = b = 1); tap j reads lag j*s per group.
    """

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        C = desc["n_embd"]
        self.k = int(block["options"].get("k", 3))
        for j in range(self.k):  # named w0, w1, ... as ours
            self.register_parameter(f"w{j}", nn.Parameter(torch.ones(C)))

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        y = x * self.w0
        for j in range(1, self.k):
            y = y + shift_groups(x, [j * s for s in self.shifts]) * getattr(self, f"w{j}")
        return y


class LinearMix(ShiftMixer):
    """Full linear projection of the pair: y_t = W_0 x_t + W_1 x_{t-s} + c."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        C = desc["n_embd"]
        self.w_self = init_linear(C, C, 0.02, bias=False)
        self.w_prev = init_linear(C, C, 0.02, bias=False)
        self.bias = nn.Parameter(torch.zeros(C)) if has_bias(desc) else None

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        xs = shift_groups(x, self.shifts)
        return F.linear(x, self.w_self.weight, self.bias) + self.w_prev(xs)


class Gate(nn.Module):
    """Holds W_g = [w_self | w_prev] (nn.Linear layout, [C, C] each) and its bias c."""

    def __init__(self, C: int, bias: bool):
        super().__init__()
        self.w_self = nn.Parameter(torch.empty(C, C).normal_(0.0, 0.02))
        self.w_prev = nn.Parameter(torch.empty(C, C).normal_(0.0, 0.02))
        self.bias = nn.Parameter(torch.zeros(C)) if bias else None  # g starts near 1/2


class GatedMix(ShiftMixer):
    """Data-dependent gate: g = sigmoid(W_g [x_t; x_{t-s}] + c); y_t = g x_t + (1 - g) x_{t-s}."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        self.gate = Gate(desc["n_embd"], has_bias(desc))

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        xs = shift_groups(x, self.shifts)
        # W_g applied to the concatenation [x_t; x_{t-s}]
        w = torch.cat([self.gate.w_self, self.gate.w_prev], dim=1)  # [C, 2C]
        g = torch.sigmoid(F.linear(torch.cat([x, xs], dim=-1), w, self.gate.bias))
        return g * x + (1 - g) * xs


class PairMix(ShiftMixer):
    """Softmax attention over the pair {t, t-s} per head, then W_o (always on).

    The model's n_head heads, d_h = C / n_head; head h uses channels
    h*Dh..(h+1)*Dh of q, k and v. Keys and values are what is shifted, each
    channel group by its own shift, so for t < s the partner has a zero key
    and a zero value.
    """

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block, proj=True)
        C = desc["n_embd"]
        self.n_head = desc["n_head"]
        self.q = init_linear(C, C, 0.02, bias=has_bias(desc))
        self.kv = init_linear(C, 2 * C, 0.02, bias=has_bias(desc))

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        H = self.n_head
        Dh = C // H
        q = self.q(x).view(B, T, H, Dh)
        k, v = self.kv(x).split(C, dim=-1)
        kp = shift_groups(k, self.shifts)
        vp = shift_groups(v, self.shifts)
        k, v, kp, vp = (t.reshape(B, T, H, Dh) for t in (k, v, kp, vp))
        scores = torch.stack([(q * k).sum(-1), (q * kp).sum(-1)], dim=-1) / math.sqrt(Dh)
        w = F.softmax(scores, dim=-1)  # [B, T, H, 2]: weight of t and of t-s
        y = w[..., 0:1] * v + w[..., 1:2] * vp
        return y.reshape(B, T, C)


# Every mixer by name, as src/model/mixers/registry.ts; the options each takes.
MIXERS = {
    "attn": (CausalSelfAttention, set()),
    "ab": (AbMix, {"proj"}),
    "channel": (ChannelMix, {"proj"}),
    "conv": (ConvMix, {"k", "proj"}),
    "linear": (LinearMix, {"proj"}),
    "gated": (GatedMix, {"proj"}),
    "pair": (PairMix, set()),
}


def build_mixer(desc: dict, block: dict) -> nn.Module:
    """The mixer of one described block; unknown mixers or options are errors."""
    name = block["mixer"]
    if name not in MIXERS:
        raise ValueError(f"unknown mixer {name!r}; known: {', '.join(MIXERS)}")
    cls, options = MIXERS[name]
    unknown = set(block.get("options", {})) - options
    if unknown:
        raise ValueError(f"mixer {name} has no option(s) {sorted(unknown)}")
    if name == "attn" and block["shifts"]:
        raise ValueError("an attention block has no shifts")
    return cls(desc, block)
