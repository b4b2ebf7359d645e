#!/usr/bin/python3
"""Independent PyTorch reference fixtures for the TypeScript engine.

Run:  /usr/bin/python3 tools/torch_reference.py [fixture ...]
      (no names: every fixture; else e.g. `hsm_pair hybrid`)

In the spirit of llm.c's test_gpt2, this script builds small models in plain
PyTorch, runs them in float64, and writes everything the TypeScript engine is
tested against (weights, inputs, logits, loss, gradients, optimizer
trajectory) into safetensors fixtures under tools/fixtures/. Output is
deterministic: same torch build and BLAS -> byte-identical files. float64
matmuls go through the system BLAS, and optimized BLAS builds (OpenBLAS)
round differently per CPU kernel, so the script re-executes itself with
Debian's netlib reference BLAS first on LD_LIBRARY_PATH when it is installed
(the committed fixtures were made with it; see _pin_reference_blas).

Layout of this file (every fixture goes through `build_fixture`; a new model
needs its nn.Module, its init and one `build_*_fixture` line):

    1. Shared settings (determinism, paths)
    2. GPT model (nanoGPT-style, attention written out explicitly)
    2b. HSM transformer (layer plans: ab / gated / pair mixers, hybrids)
    3. Seeded init (all parameter kinds get non-trivial values)
    4. Reference computations (forward/backward, AdamW trajectory)
    5. Fixture writers (shared build_fixture, one entry per fixture) + round-trip check
    6. main()

Fixtures (tools/fixtures/):
    gpt_tiny.safetensors   GPT, 2 attention layers, n_embd 64
    hsm_ab.safetensors     plan hsm:ab*5      (shifts 1, 2, 4, 8, 16), n_embd 32
    hsm_gated.safetensors  plan hsm:gated*5   (same shifts), n_embd 32
    hsm_pair.safetensors   plan hsm:pair*5    (same shifts), n_embd 32
    hybrid.safetensors     plan hsm:ab*3,attn (shifts 1, 2, 4; wpe), n_embd 32
All share vocab 65, context 32, batch 4x32, and this layout:
    <param name>          F32  initial weights (exact float32 values)
    input.idx             I32  [B,T] token ids
    input.targets         I32  [B,T] next-token targets
    logits                F64  [B,T,V] at init (model cast to float64)
    loss                  F64  [1] mean cross-entropy at init
    grad.<param name>     F64  d loss / d param at init
    adamw.losses          F64  [steps+1] loss before each step and after last
    adamw.grad_norms      F64  [steps] global grad norm before clipping
    step5.<param name>    F64  parameters after the AdamW steps
    __metadata__          "config" (JSON), "generator", "torch_version"
The config's "model" holds everything needed to rebuild the model (for HSM
fixtures: plan, positions, hsm_heads, schedule, shifts per layer) and
"param_names" in parameter order; "optimizer" lists the decay groups.
"""

import json
import math
import os
import sys
from dataclasses import asdict, dataclass

# Debian's netlib reference BLAS: plain loops, the same rounding on every CPU.
REFERENCE_BLAS_DIR = "/usr/lib/x86_64-linux-gnu/blas"


def _pin_reference_blas():
    """When run as a script, re-exec with the reference BLAS found first.

    torch's float64 matmuls call the system libblas.so.3; with OpenBLAS there
    the last bits of logits/grads depend on the CPU kernel it picks, so the
    fixtures would not be byte-reproducible. Must run before `import torch`.
    """
    if __name__ != "__main__" or not os.path.exists(os.path.join(REFERENCE_BLAS_DIR, "libblas.so.3")):
        return
    paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
    if paths[:1] == [REFERENCE_BLAS_DIR]:
        return
    os.environ["LD_LIBRARY_PATH"] = ":".join([REFERENCE_BLAS_DIR] + paths)
    os.execv(sys.executable, [sys.executable] + sys.argv)


def loaded_blas():
    """Paths of the BLAS libraries this process has mapped (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            return sorted({l.split()[-1] for l in f if "libblas" in l})
    except OSError:
        return []


_pin_reference_blas()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

# ---------------------------------------------------------------------------
# 1. Shared settings
# ---------------------------------------------------------------------------

TOOLS_DIR = os.path.dirname(os.path.abspath(__file__))
FIXTURES_DIR = os.path.join(TOOLS_DIR, "fixtures")
GENERATOR = "tools/torch_reference.py"

# Single-threaded, deterministic kernels so float64 results (and therefore the
# fixture bytes) do not depend on the machine's core count.
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------
# 2. GPT model: same math and parameter names as nanoGPT's model.py, minus the
#    `transformer.` prefix and with the lm_head tied to wte (no extra tensor).
# ---------------------------------------------------------------------------


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 32
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    bias: bool = True
    dropout: float = 0.0
    ln_eps: float = 1e-5


class LayerNorm(nn.Module):
    """LayerNorm over the last dim with eps 1e-5 (weight + optional bias)."""

    def __init__(self, ndim, bias, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention, computed explicitly.

    qkv = c_attn(x) is split into q, k, v (C channels each, in that order);
    head h uses channels h*Dh..(h+1)*Dh of each; scores q k^T / sqrt(Dh) are
    masked above the diagonal with -inf, softmaxed, applied to v; heads are
    concatenated back in order and projected by c_proj.
    """

    def __init__(self, cfg):
        super().__init__()
        assert cfg.n_embd % cfg.n_head == 0
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        mask = torch.tril(torch.ones(cfg.block_size, cfg.block_size, dtype=torch.bool))
        self.register_buffer("mask", mask.view(1, 1, cfg.block_size, cfg.block_size))

    def forward(self, x):
        B, T, C = x.shape
        H, Dh = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, H, Dh).transpose(1, 2)  # [B,H,T,Dh]
        k = k.view(B, T, H, Dh).transpose(1, 2)
        v = v.view(B, T, H, Dh).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(Dh))  # [B,H,T,T]
        att = att.masked_fill(~self.mask[:, :, :T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = att @ v  # [B,H,T,Dh]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    """c_proj(gelu_tanh(c_fc(x))), hidden width 4C."""

    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    """Pre-LN transformer block: x += attn(ln_1(x)); x += mlp(ln_2(x))."""

    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    """Token + position embeddings, L blocks, final LN, head tied to wte."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        assert T <= self.cfg.block_size
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        logits = x @ self.wte.weight.t()  # tied output head
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


# ---------------------------------------------------------------------------
# 2b. HSM transformer: the same pre-LN skeleton, but each block's token mixer
#     is chosen by a layer plan ("hsm:ab*5", "hsm:ab*3,attn"). Written from
#     the math in docs/SPEC.md, not from the TypeScript code; parameter names follow
#     the engine's checkpoint layout (attention: h.i.attn.*, HSM: h.i.mix.*).
# ---------------------------------------------------------------------------


@dataclass
class HSMConfig:
    plan: str = "hsm:ab*5"
    vocab_size: int = 65
    block_size: int = 32
    n_layer: int = 5
    n_head: int = 4  # heads of attention and of the pair mixer
    n_embd: int = 32
    hsm_heads: int = 1  # head groups of the HSM layers
    schedule: str = "pow2"
    positions: bool = False  # learned wpe; on iff the plan has attention
    bias: bool = True
    dropout: float = 0.0
    ln_eps: float = 1e-5


def parse_plan(plan):
    """'hsm:ab*3,attn' -> ['ab', 'ab', 'ab', 'attn'] (the subset the fixtures use)."""
    out = []
    for item in plan.replace(" ", "").split(","):
        atom, _, count = item.partition("*")
        n = int(count) if count else 1
        if atom == "attn":
            out += ["attn"] * n
        else:
            assert atom.startswith("hsm:") and "[" not in atom and "(" not in atom, item
            out += [atom[len("hsm:"):]] * n
    return out


def pow2_shift(hsm_layer, block_size):
    """pow2 schedule: s = 2^(l mod K), K = ceil(log2(max(2, context)))."""
    K = max(1, math.ceil(math.log2(max(2, block_size))))
    return 2 ** (hsm_layer % K)


def shift_time(x, s):
    """y[:, t] = x[:, t - s] for t >= s, zero for t < s (x is [B, T, C])."""
    T = x.shape[1]
    if s == 0:
        return x
    zeros = x.new_zeros((x.shape[0], min(s, T)) + tuple(x.shape[2:]))
    return torch.cat([zeros, x[:, : max(T - s, 0)]], dim=1)


def shift_groups(x, shifts):
    """shift_time per equal channel group of the last dim (one shift per group)."""
    if len(set(shifts)) == 1:
        return shift_time(x, shifts[0])
    parts = x.chunk(len(shifts), dim=-1)
    return torch.cat([shift_time(p, s) for p, s in zip(parts, shifts)], dim=-1)


class AbMix(nn.Module):
    """y_t = a x_t + b x_{t-s}, scalars a, b per head group."""

    def __init__(self, cfg, shifts):
        super().__init__()
        self.shifts = shifts
        G = len(shifts)
        self.a = nn.Parameter(torch.ones(G))
        self.b = nn.Parameter(torch.ones(G))

    def forward(self, x):
        C, G = x.shape[-1], len(self.shifts)
        a = self.a.repeat_interleave(C // G)
        b = self.b.repeat_interleave(C // G)
        return a * x + b * shift_groups(x, self.shifts)


class Gate(nn.Module):
    """Holds W_g = [w_self | w_prev] (nn.Linear layout) and its bias c."""

    def __init__(self, C):
        super().__init__()
        self.w_self = nn.Parameter(torch.zeros(C, C))
        self.w_prev = nn.Parameter(torch.zeros(C, C))
        self.bias = nn.Parameter(torch.zeros(C))


class GatedMix(nn.Module):
    """g = sigmoid(W_g [x_t; x_{t-s}] + c); y_t = g x_t + (1 - g) x_{t-s}."""

    def __init__(self, cfg, shifts):
        super().__init__()
        self.shifts = shifts
        self.gate = Gate(cfg.n_embd)

    def forward(self, x):
        xs = shift_groups(x, self.shifts)
        # W_g applied to the concatenation [x_t; x_{t-s}]
        w = torch.cat([self.gate.w_self, self.gate.w_prev], dim=1)  # [C, 2C]
        g = torch.sigmoid(torch.cat([x, xs], dim=-1) @ w.t() + self.gate.bias)
        return g * x + (1 - g) * xs


class PairMix(nn.Module):
    """Softmax attention over the pair {t, t-s} per head, then W_o.

    The model's n_head heads (docs/SPEC.md §4: "per head", d_h = C / n_head); head h
    uses channels h*Dh..(h+1)*Dh of q, k and v. Keys and values are what is
    shifted, each by the shift of its channel group (one group here), so for
    t < s the partner has a zero key and a zero value.
    """

    def __init__(self, cfg, shifts):
        super().__init__()
        C = cfg.n_embd
        self.shifts = shifts
        self.n_head = cfg.n_head
        self.c_proj = nn.Linear(C, C, bias=True)
        self.q = nn.Linear(C, C, bias=True)
        self.kv = nn.Linear(C, 2 * C, bias=True)

    def forward(self, x):
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
        return self.c_proj(y.reshape(B, T, C))


HSM_MIXERS = {"ab": AbMix, "gated": GatedMix, "pair": PairMix}


class HSMBlock(nn.Module):
    """Pre-LN block with the layer's token mixer: x += mix(ln_1(x)); x += mlp(ln_2(x))."""

    def __init__(self, cfg, kind, shifts):
        super().__init__()
        self.ln_1 = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)
        if kind == "attn":
            self.attn = CausalSelfAttention(cfg)
        else:
            self.mix = HSM_MIXERS[kind](cfg, shifts)
        self.kind = kind
        self.ln_2 = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)
        self.mlp = MLP(cfg)

    def forward(self, x):
        mixer = self.attn if self.kind == "attn" else self.mix
        x = x + mixer(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class HSMTransformer(nn.Module):
    """Token (+ optional position) embeddings, planned blocks, ln_f, tied head."""

    def __init__(self, cfg):
        super().__init__()
        assert cfg.schedule == "pow2"
        self.cfg = cfg
        self.kinds = parse_plan(cfg.plan)
        assert len(self.kinds) == cfg.n_layer, (cfg.plan, cfg.n_layer)
        assert cfg.positions == ("attn" in self.kinds)
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.positions:
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.shifts = []  # per layer: one shift per head group ([] for attention)
        hsm_layer = 0
        for kind in self.kinds:
            if kind == "attn":
                self.shifts.append([])
            else:
                self.shifts.append([pow2_shift(hsm_layer, cfg.block_size)] * cfg.hsm_heads)
                hsm_layer += 1
        self.h = nn.ModuleList([HSMBlock(cfg, k, s) for k, s in zip(self.kinds, self.shifts)])
        self.ln_f = LayerNorm(cfg.n_embd, cfg.bias, cfg.ln_eps)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        assert T <= self.cfg.block_size
        x = self.wte(idx)
        if self.cfg.positions:
            x = x + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


# ---------------------------------------------------------------------------
# 3. Seeded init. Unlike nanoGPT (zero biases, unit LN), biases and LayerNorm
#    parameters get random values so every gradient path is exercised.
#    Parameters are drawn in named_parameters() order from one generator.
# ---------------------------------------------------------------------------

INIT_DESCRIPTION = {
    "weights": "N(0, 0.02)",
    "c_proj.weight": "N(0, 0.02/sqrt(2*n_layer))",
    "linear biases": "N(0, 0.02)",
    "layernorm weights": "1 + N(0, 0.1)",
    "layernorm biases": "N(0, 0.1)",
    "order": "named_parameters() order, then input.idx, then input.targets",
}


def gpt_init_value(name, noise, n_layer):
    """The value of parameter `name` given its N(0, 1) draw: GPT-2 scales, but
    non-trivial LayerNorms and biases so every gradient path is exercised."""
    is_ln = name.startswith("ln_f.") or ".ln_1." in name or ".ln_2." in name
    if is_ln and name.endswith(".weight"):
        return 1.0 + 0.1 * noise
    if is_ln:
        return 0.1 * noise
    if name.endswith(".bias"):
        return 0.02 * noise
    if name.endswith("c_proj.weight"):
        return (0.02 / math.sqrt(2 * n_layer)) * noise
    return 0.02 * noise  # wte, wpe, c_attn.weight, c_fc.weight


def hsm_init_value(name, noise, n_layer):
    """gpt_init_value plus the HSM mixers' own parameters."""
    if name.endswith((".mix.a", ".mix.b")):
        return 1.0 + 0.2 * noise
    if name.endswith((".gate.w_self", ".gate.w_prev", ".q.weight", ".kv.weight")):
        return 0.1 * noise
    return gpt_init_value(name, noise, n_layer)


def init_params_(model, gen, value_of):
    """Fill every parameter of `model` (float32) in place, drawing N(0, 1) noise
    from `gen` in named_parameters() order."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            p.copy_(value_of(name, noise, model.cfg.n_layer))


def init_gpt_(model, gen):
    init_params_(model, gen, gpt_init_value)


HSM_INIT_DESCRIPTION = {
    **{k: v for k, v in INIT_DESCRIPTION.items() if k != "order"},
    "mix.a, mix.b": "1 + N(0, 0.2)",
    "gate.w_self, gate.w_prev, q.weight, kv.weight": "N(0, 0.1) (gates and pair scores data-dependent)",
    "order": INIT_DESCRIPTION["order"],
}


def init_hsm_(model, gen):
    init_params_(model, gen, hsm_init_value)


# ---------------------------------------------------------------------------
# 4. Reference computations (all float64)
# ---------------------------------------------------------------------------


def forward_backward(model, idx, targets):
    """Forward + backward at the current params. Returns logits, loss, grads."""
    model.zero_grad(set_to_none=True)
    logits, loss = model(idx, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    return logits.detach(), loss.detach(), grads


def adamw_param_groups(model, weight_decay):
    """nanoGPT grouping: decay params with dim >= 2 (matrices + embeddings)."""
    decay = [(n, p) for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [(n, p) for n, p in model.named_parameters() if p.dim() < 2]
    groups = [
        {"params": [p for _, p in decay], "weight_decay": weight_decay},
        {"params": [p for _, p in no_decay], "weight_decay": 0.0},
    ]
    return groups, [n for n, _ in decay], [n for n, _ in no_decay]


def run_adamw(model, idx, targets, opt_cfg):
    """`steps` AdamW steps on one fixed batch, with global-norm grad clipping.

    torch 1.13 semantics the TS engine must match:
      clip: total = ||(||g_i||_2)_i||_2; coef = min(1, max_norm/(total+1e-6));
            every grad *= coef (the returned norm is the pre-clip total).
      AdamW (non-amsgrad): p *= 1 - lr*wd; m = b1*m + (1-b1)g;
            v = b2*v + (1-b2)g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
    Returns (losses [steps+1], pre-clip grad norms [steps]).
    """
    groups, _, _ = adamw_param_groups(model, opt_cfg["weight_decay"])
    opt = torch.optim.AdamW(
        groups,
        lr=opt_cfg["lr"],
        betas=tuple(opt_cfg["betas"]),
        eps=opt_cfg["eps"],
        foreach=False,
    )
    params = list(model.parameters())
    losses, norms = [], []
    for _ in range(opt_cfg["steps"]):
        opt.zero_grad(set_to_none=True)
        _, loss = model(idx, targets)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, opt_cfg["max_norm"])
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
    with torch.no_grad():
        _, loss = model(idx, targets)
    losses.append(loss.item())
    return losses, norms


# ---------------------------------------------------------------------------
# 5. Fixture writers
# ---------------------------------------------------------------------------


def to_np(t, dtype):
    return t.detach().cpu().numpy().astype(dtype)


def write_and_verify(path, tensors, metadata):
    """Write a fixture, read it back, and check exact round-trip."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_safetensors(path, tensors, metadata)
    back, meta = read_safetensors(path)
    assert list(back.keys()) == list(tensors.keys()), "tensor order mismatch"
    assert meta == metadata, "metadata mismatch"
    for name, arr in tensors.items():
        got = back[name]
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        assert got.tobytes() == arr.tobytes(), f"{name}: bytes differ"
    print(f"wrote {os.path.relpath(path, os.path.dirname(TOOLS_DIR))} "
          f"({os.path.getsize(path)} bytes, {len(tensors)} tensors) -- round-trip OK")


OPT_CFG = {
    "type": "AdamW",
    "lr": 1e-3,
    "betas": [0.9, 0.95],
    "eps": 1e-8,
    "weight_decay": 0.1,
    "max_norm": 1.0,
    "steps": 5,
}


def build_fixture(path, tag, model, init_fn, init_description, model_meta, B, T, seed, opt_cfg):
    """Shared by every fixture: seeded float32 init and batch, float64 reference
    logits/loss/grads at init, then the clipped AdamW trajectory; written to
    `path` with the layout in the module docstring. `model_meta` describes the
    model in the metadata (param_names is appended)."""
    cfg = model.cfg

    # --- float32 model + data from one seeded generator
    gen = torch.Generator().manual_seed(seed)
    init_fn(model, gen)
    idx = torch.randint(0, cfg.vocab_size, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, cfg.vocab_size, (B, T), generator=gen, dtype=torch.int64)
    names = [n for n, _ in model.named_parameters()]
    weights_f32 = {n: to_np(p, np.float32) for n, p in model.named_parameters()}

    # --- float64: logits, loss, grads at init
    model = model.double()
    logits, loss, grads = forward_backward(model, idx, targets)
    print(f"{tag}: loss at init {loss.item():.6f} (ln V = {math.log(cfg.vocab_size):.6f})")
    assert abs(loss.item() - math.log(cfg.vocab_size)) < 0.3, "init loss far from ln V"
    for n in names:
        assert grads[n].abs().max().item() > 0, f"{tag}: no gradient reaches {n}"

    # --- float64: AdamW trajectory on the same batch
    losses, norms = run_adamw(model, idx, targets, opt_cfg)
    print(f"{tag}: adamw losses     ", ", ".join(f"{x:.6f}" for x in losses))
    print(f"{tag}: pre-clip gnorms  ", ", ".join(f"{x:.6f}" for x in norms))
    print(f"{tag}: max_norm {opt_cfg['max_norm']}, clipped on "
          f"{sum(n > opt_cfg['max_norm'] for n in norms)}/{len(norms)} steps")
    assert losses[0] == loss.item(), "AdamW start loss differs from init loss"
    assert all(b < a for a, b in zip(losses, losses[1:])), "losses must decrease"
    assert any(n > opt_cfg["max_norm"] for n in norms), "clipping never triggered"
    assert any(n <= opt_cfg["max_norm"] for n in norms), "clipping triggered on every step"
    # far enough from the threshold that float32 engines take the same branch
    assert min(abs(n / opt_cfg["max_norm"] - 1) for n in norms) > 2e-3, "a grad norm is at max_norm"

    # --- assemble tensors (insertion order = file order)
    tensors = {}
    tensors.update(weights_f32)
    tensors["input.idx"] = to_np(idx, np.int32)
    tensors["input.targets"] = to_np(targets, np.int32)
    tensors["logits"] = to_np(logits, np.float64)
    tensors["loss"] = np.array([loss.item()], dtype=np.float64)
    for n in names:
        tensors[f"grad.{n}"] = to_np(grads[n], np.float64)
    tensors["adamw.losses"] = np.array(losses, dtype=np.float64)
    tensors["adamw.grad_norms"] = np.array(norms, dtype=np.float64)
    for n, p in model.named_parameters():
        tensors[f"step{opt_cfg['steps']}.{n}"] = to_np(p, np.float64)

    _, decay_names, no_decay_names = adamw_param_groups(model, opt_cfg["weight_decay"])
    config = {
        "model": {**model_meta, "param_names": names},
        "batch_size": B,
        "seq_len": T,
        "seed": seed,
        "init": init_description,
        "weights_dtype": "F32",
        "compute_dtype": "F64",
        "optimizer": {
            **opt_cfg,
            "no_decay_weight_decay": 0.0,
            "decay_rule": "dim >= 2",
            "decay_params": decay_names,
            "no_decay_params": no_decay_names,
            "clip": "torch.nn.utils.clip_grad_norm_ (L2, coef=max_norm/(norm+1e-6), clamped to 1)",
            "same_batch_every_step": True,
        },
    }
    metadata = {
        "config": json.dumps(config, separators=(",", ":")),
        "generator": GENERATOR,
        "torch_version": torch.__version__,
    }
    write_and_verify(path, tensors, metadata)


def build_gpt_tiny_fixture(path):
    # max_norm 1.0: the pre-clip grad norms of this run are
    # 1.148, 0.866, 1.050, 1.415, 1.455, so clipping triggers on steps
    # 1, 3, 4, 5 and not on step 2 (both code paths are exercised).
    cfg = GPTConfig()
    meta = {"type": "gpt", **asdict(cfg), "tied_lm_head": True, "gelu": "tanh"}
    build_fixture(path, "gpt_tiny", GPT(cfg), init_gpt_, INIT_DESCRIPTION, meta,
                  B=4, T=32, seed=1337, opt_cfg=OPT_CFG)


def build_hsm_fixture(path, tag, plan, max_norm):
    """A planned model (pure HSM or hybrid) at vocab 65, context 32, B=4, T=32.

    n_embd is 32 (not GPT's 64) so that the 5-layer fixtures stay near 1 MB:
    every stored parameter costs 20 bytes (F32 init + F64 grad + F64 step5).
    """
    kinds = parse_plan(plan)
    cfg = HSMConfig(plan=plan, n_layer=len(kinds), positions="attn" in kinds)
    model = HSMTransformer(cfg)
    meta = {"type": "hybrid" if "attn" in kinds and len(set(kinds)) > 1 else "hsm",
            **asdict(cfg), "shifts": model.shifts, "tied_lm_head": True, "gelu": "tanh"}
    build_fixture(path, tag, model, init_hsm_, HSM_INIT_DESCRIPTION, meta,
                  B=4, T=32, seed=1337, opt_cfg={**OPT_CFG, "max_norm": max_norm})


# name -> (plan, max_norm). The optimizer is gpt_tiny's except max_norm, which
# is set per model between its pre-clip grad norms so that some steps clip
# and some do not (norms printed when the script runs).
HSM_FIXTURES = {
    "hsm_ab": ("hsm:ab*5", 0.66),  # shifts 1, 2, 4, 8, 16: the whole context of 32
    "hsm_gated": ("hsm:gated*5", 0.70),
    "hsm_pair": ("hsm:pair*5", 1.0),
    "hybrid": ("hsm:ab*3,attn", 0.695),  # shifts 1, 2, 4, then attention (with wpe)
}


# ---------------------------------------------------------------------------
# 6. main
# ---------------------------------------------------------------------------


def main():
    blas = loaded_blas()
    print("BLAS:", ", ".join(blas) or "unknown")
    if not any(p.startswith(REFERENCE_BLAS_DIR + "/") for p in blas):
        print("warning: not the reference BLAS; float64 results may differ from the committed "
              "fixtures in the last bits", file=sys.stderr)
    only = set(sys.argv[1:])
    unknown = only - {"gpt_tiny", *HSM_FIXTURES}
    if unknown:
        sys.exit(f"unknown fixture(s) {sorted(unknown)}; known: gpt_tiny, {', '.join(HSM_FIXTURES)}")
    if not only or "gpt_tiny" in only:
        build_gpt_tiny_fixture(os.path.join(FIXTURES_DIR, "gpt_tiny.safetensors"))
    for tag, (plan, max_norm) in HSM_FIXTURES.items():
        if not only or tag in only:
            build_hsm_fixture(os.path.join(FIXTURES_DIR, f"{tag}.safetensors"), tag, plan, max_norm)


if __name__ == "__main__":
    main()
