#!/usr/bin/python3
"""Independent PyTorch reference fixtures for the TypeScript engine.

Run:  /usr/bin/python3 tools/torch_reference.py

In the spirit of llm.c's test_gpt2, this script builds small models in plain
PyTorch, runs them in float64, and writes everything the TypeScript engine is
tested against (weights, inputs, logits, loss, gradients, optimizer
trajectory) into safetensors fixtures under tools/fixtures/. Output is
deterministic: same torch build -> byte-identical files.

Layout of this file (each fixture is one `build_*_fixture` function, so more
models -- e.g. HSM mixers and hybrid plans -- can be added alongside):

    1. Shared settings (determinism, paths)
    2. GPT model (nanoGPT-style, attention written out explicitly)
    3. Seeded init (all parameter kinds get non-trivial values)
    4. Reference computations (forward/backward, AdamW trajectory)
    5. Fixture writers (one per fixture) + round-trip check
    6. main()

Fixture tools/fixtures/gpt_tiny.safetensors contents:
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
"""

import json
import math
import os
import sys
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

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


def init_gpt_(model, gen):
    """Fill every parameter of `model` (float32) in place from `gen`."""
    L = model.cfg.n_layer
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            is_ln = name.startswith("ln_f.") or ".ln_1." in name or ".ln_2." in name
            if is_ln and name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif is_ln:
                p.copy_(0.1 * noise)
            elif name.endswith(".bias"):
                p.copy_(0.02 * noise)
            elif name.endswith("c_proj.weight"):
                p.copy_((0.02 / math.sqrt(2 * L)) * noise)
            else:  # wte, wpe, c_attn.weight, c_fc.weight
                p.copy_(0.02 * noise)


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


def build_gpt_tiny_fixture(path):
    cfg = GPTConfig()
    B, T = 4, 32
    seed = 1337
    # max_norm 1.0: the pre-clip grad norms of this run are
    # 1.148, 0.866, 1.050, 1.415, 1.455, so clipping triggers on steps
    # 1, 3, 4, 5 and not on step 2 (both code paths are exercised).
    opt_cfg = {
        "type": "AdamW",
        "lr": 1e-3,
        "betas": [0.9, 0.95],
        "eps": 1e-8,
        "weight_decay": 0.1,
        "max_norm": 1.0,
        "steps": 5,
    }

    # --- float32 model + data from one seeded generator
    gen = torch.Generator().manual_seed(seed)
    model = GPT(cfg)
    init_gpt_(model, gen)
    idx = torch.randint(0, cfg.vocab_size, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, cfg.vocab_size, (B, T), generator=gen, dtype=torch.int64)
    names = [n for n, _ in model.named_parameters()]
    weights_f32 = {n: to_np(p, np.float32) for n, p in model.named_parameters()}

    # --- float64: logits, loss, grads at init
    model = model.double()
    logits, loss, grads = forward_backward(model, idx, targets)
    print(f"gpt_tiny: loss at init {loss.item():.6f} (ln V = {math.log(cfg.vocab_size):.6f})")
    assert abs(loss.item() - math.log(cfg.vocab_size)) < 0.3, "init loss far from ln V"

    # --- float64: AdamW trajectory on the same batch
    losses, norms = run_adamw(model, idx, targets, opt_cfg)
    print("gpt_tiny: adamw losses     ", ", ".join(f"{x:.6f}" for x in losses))
    print("gpt_tiny: pre-clip gnorms  ", ", ".join(f"{x:.6f}" for x in norms))
    print(f"gpt_tiny: max_norm {opt_cfg['max_norm']}, clipped on "
          f"{sum(n > opt_cfg['max_norm'] for n in norms)}/{len(norms)} steps")
    assert losses[0] == loss.item(), "AdamW start loss differs from init loss"
    assert all(b < a for a, b in zip(losses, losses[1:])), "losses must decrease"
    assert any(n > opt_cfg["max_norm"] for n in norms), "clipping never triggered"

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
        "model": {"type": "gpt", **asdict(cfg), "tied_lm_head": True,
                  "gelu": "tanh", "param_names": names},
        "batch_size": B,
        "seq_len": T,
        "seed": seed,
        "init": INIT_DESCRIPTION,
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


# ---------------------------------------------------------------------------
# 6. main
# ---------------------------------------------------------------------------


def main():
    build_gpt_tiny_fixture(os.path.join(FIXTURES_DIR, "gpt_tiny.safetensors"))


if __name__ == "__main__":
    main()
