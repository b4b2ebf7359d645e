"""Token mixers: causal attention and the HSM mixers (docs/SPEC.md §2-§4).

One nn.Module per mixer of src/model/mixers/, with the same parameters under
the same names, shapes and initial distributions. Every module takes the model
description (`desc`) and its block (`block`: mixer, options, shifts) and maps
x [B, T, C] -> y [B, T, C].

HSM layers read x_{t-s}: position t of the input `s` steps back, zero before
the start of the sequence. With several head groups, the C channels split into
len(shifts) equal contiguous groups, group g shifted by shifts[g].

Each mixer also has its recurrent form, step(): one new position at a time,
with a decoding state (attention: its KV cache; an HSM mixer: a window of the
last rows it shifts), as src/model/mixers/*.ts decode. onnx_export.py exports
it as decoder.onnx.
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
    """y[:, t] = x[:, t - s] for t >= s, zero for t < s (x is [B, T, ...]).

    Written as pad-then-slice so that an ONNX export (onnx_export.py) keeps T
    dynamic: one Pad and one Slice whatever the length, T < s included.
    """
    if s == 0:
        return x
    pad = [0, 0] * (x.dim() - 2) + [s, 0]  # F.pad lists the last dimension first; time is dim 1
    return F.pad(x, pad)[:, :-s]


def shift_groups(x: torch.Tensor, shifts: Sequence[int]) -> torch.Tensor:
    """shift_time per equal channel group of the last dim (one shift per group)."""
    if len(set(shifts)) == 1:
        return shift_time(x, shifts[0])
    parts = x.chunk(len(shifts), dim=-1)
    return torch.cat([shift_time(p, s) for p, s in zip(parts, shifts)], dim=-1)


def read_window(window: torch.Tensor, lags: Sequence[int], length: int) -> torch.Tensor:
    """The recurrent form of shift_groups: window [B, length, C] holds the last
    `length` rows before the current one, oldest first (zeros before the
    sequence started), so the row `lag` steps back is window[:, length - lag];
    one lag per channel group. Returns [B, 1, C]. (`length` is the mixer's, a
    constant, so an exported graph slices at fixed offsets.)"""
    if len(set(lags)) == 1:
        return window.narrow(1, length - lags[0], 1)
    parts = window.chunk(len(lags), dim=-1)
    return torch.cat([p.narrow(1, length - s, 1) for p, s in zip(parts, lags)], dim=-1)


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
    T = x.shape[-2]
    return turn(x, cos[:T], sin[:T])


def turn(x: torch.Tensor, c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """apply_rotary with the angles' cos and sin given (broadcast against x's halves)."""
    half = x.shape[-1] // 2
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

    def heads(self, x: torch.Tensor):
        """q, k, v of x [B, T, C], each [B, H, T, Dh]."""
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        return tuple(t.reshape(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))

    def merge(self, y: torch.Tensor) -> torch.Tensor:
        """[B, H, T, Dh] heads -> c_proj of their concatenation [B, T, C]."""
        B, H, T, Dh = y.shape
        return self.c_proj(y.transpose(1, 2).reshape(B, T, H * Dh))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.heads(x)
        T, Dh = x.shape[1], q.shape[-1]
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
        return self.merge(y)

    def step(self, x: torch.Tensor, past: List[torch.Tensor], positions: Optional[torch.Tensor] = None):
        """The recurrent form: x [B, 1, C] at position P attends to the cached keys
        and values past = [k, v], each [B, H, P, Dh]; returns (y [B, 1, C],
        [k, v] with this position appended). With rotary positions, positions
        [B, 1] holds P (the cached keys are already turned)."""
        q, k, v = self.heads(x)
        if self.rotary:
            # The context's table, computed as forward() computes it, indexed by position.
            cos, sin = rotary_tables(self.block_size, q.shape[-1], self.rotary_base, x.dtype)
            c, s = cos.to(x.device)[positions].unsqueeze(1), sin.to(x.device)[positions].unsqueeze(1)  # [B, 1, 1, Dh/2]
            q, k = turn(q, c, s), turn(k, c, s)
        k = torch.cat([past[0], k], dim=2)
        v = torch.cat([past[1], v], dim=2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # [B, H, 1, P + 1]: all of it is the past
        return self.merge(F.softmax(att, dim=-1) @ v), [k, v]


class ShiftMixer(nn.Module):
    """Base of the HSM mixers: y = c_proj(mix(x)), the projection only with [proj].

    As in src/model/mixers/mixer.ts, a mixer says what it shifts (`prepare`:
    tensors of width C, default x itself), at which lags (`lags`: one shift
    per head group each) and how it combines them (`combine`); the parallel
    form reads the lagged copies from shift_groups, the recurrent form (`step`)
    from a window of the last `window` prepared rows per tensor, so both forms
    share every op of the mix.

    c_proj is registered first, as ours registers it before the mixer's own
    parameters (its init draws come first in our generator).
    """

    #: Names of the tensors prepare() returns (suffixes of the decoding state's names).
    prepared_names: Tuple[str, ...] = ("",)

    def __init__(self, desc: dict, block: dict, proj: Optional[bool] = None):
        super().__init__()
        C = desc["n_embd"]
        self.shifts: List[int] = list(block["shifts"])
        assert self.shifts and C % len(self.shifts) == 0, f"{len(self.shifts)} head groups do not divide n_embd {C}"
        if proj is None:
            proj = bool(block["options"].get("proj", False))
        self.c_proj = init_linear(C, C, residual_std(desc), bias=has_bias(desc)) if proj else None

    @property
    def lags(self) -> List[List[int]]:
        """Lagged inputs combine() reads: each entry is one shift per head group."""
        return [self.shifts]

    @property
    def window(self) -> int:
        """Rows the recurrent form keeps per prepared tensor: the largest lag."""
        return max(max(lag) for lag in self.lags)

    def prepare(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [x]

    def combine(self, x: torch.Tensor, prepared: List[torch.Tensor], past: List[List[torch.Tensor]]) -> torch.Tensor:
        """The mix from x, its prepared tensors and their lagged copies: past[i][j]
        is prepared tensor j at lag set i (the order of `lags`)."""
        raise NotImplementedError

    def project(self, y: torch.Tensor) -> torch.Tensor:
        return self.c_proj(y) if self.c_proj is not None else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        prepared = self.prepare(x)
        past = [[shift_groups(p, lag) for p in prepared] for lag in self.lags]
        return self.project(self.combine(x, prepared, past))

    def step(self, x: torch.Tensor, windows: List[torch.Tensor]):
        """The recurrent form: x [B, 1, C]; windows[j] [B, window, C] holds
        prepared tensor j's last rows. Returns (y [B, 1, C], the windows moved
        on by one row: the oldest dropped, this one appended)."""
        prepared = self.prepare(x)
        past = [[read_window(w, lag, self.window) for w in windows] for lag in self.lags]
        moved = [torch.cat([w[:, 1:], p], dim=1) for w, p in zip(windows, prepared)]
        return self.project(self.combine(x, prepared, past)), moved


class AbMix(ShiftMixer):
    """The paper's (a, b) mixer: y_t = a x_t + b x_{t-s}, scalars per head group."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        G = len(self.shifts)
        # a = b = 1: both tokens start with equal weight
        self.a = nn.Parameter(torch.ones(G))
        self.b = nn.Parameter(torch.ones(G))

    def combine(self, x, prepared, past):
        C = x.shape[-1]
        return expand_groups(self.a, C) * x + expand_groups(self.b, C) * past[0][0]


class ChannelMix(ShiftMixer):
    """Per-channel weights: y_t = a * x_t + b * x_{t-s}, a, b in R^C."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        C = desc["n_embd"]
        self.a = nn.Parameter(torch.ones(C))
        self.b = nn.Parameter(torch.ones(C))

    def combine(self, x, prepared, past):
        return self.a * x + self.b * past[0][0]


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

    @property
    def lags(self) -> List[List[int]]:
        return [[j * s for s in self.shifts] for j in range(1, self.k)]

    def combine(self, x, prepared, past):
        y = x * self.w0
        for j, (xs,) in enumerate(past, start=1):
            y = y + xs * getattr(self, f"w{j}")
        return y


class LinearMix(ShiftMixer):
    """Full linear projection of the pair: y_t = W_0 x_t + W_1 x_{t-s} + c."""

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block)
        C = desc["n_embd"]
        self.w_self = init_linear(C, C, 0.02, bias=False)
        self.w_prev = init_linear(C, C, 0.02, bias=False)
        self.bias = nn.Parameter(torch.zeros(C)) if has_bias(desc) else None

    def combine(self, x, prepared, past):
        return F.linear(x, self.w_self.weight, self.bias) + self.w_prev(past[0][0])


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

    def combine(self, x, prepared, past):
        xs = past[0][0]
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

    prepared_names = ("key", "value")

    def __init__(self, desc: dict, block: dict):
        super().__init__(desc, block, proj=True)
        C = desc["n_embd"]
        self.n_head = desc["n_head"]
        self.q = init_linear(C, C, 0.02, bias=has_bias(desc))
        self.kv = init_linear(C, 2 * C, 0.02, bias=has_bias(desc))

    def prepare(self, x: torch.Tensor) -> List[torch.Tensor]:
        return list(self.kv(x).split(x.shape[-1], dim=-1))

    def combine(self, x, prepared, past):
        B, T, C = x.shape
        H = self.n_head
        Dh = C // H
        q = self.q(x).reshape(B, T, H, Dh)
        k, v, kp, vp = (t.reshape(B, T, H, Dh) for t in (*prepared, *past[0]))
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
