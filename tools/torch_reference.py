#!/usr/bin/python3
"""PyTorch reference fixtures for the TypeScript engine.

Run:  /usr/bin/python3 tools/torch_reference.py [fixture ...]
      (no names: every fixture; else e.g. `hsm_pair hybrid`)

In the spirit of llm.c's test_gpt2, this script builds small models with
python/hsm_torch (the PyTorch definition of our models), runs them in float64
with its own seeded init, and writes everything the TypeScript engine is
tested against (weights, inputs, logits, loss, gradients, optimizer
trajectory) into safetensors fixtures under tools/fixtures/. Output is
deterministic: same torch build and BLAS -> byte-identical files. float64
matmuls go through the system BLAS, and optimized BLAS builds (OpenBLAS)
round differently per CPU kernel, so the script re-executes itself with
Debian's netlib reference BLAS first on LD_LIBRARY_PATH when it is installed
(the committed fixtures were made with it; see _pin_reference_blas).

Layout of this file (every fixture goes through `build_fixture`; a new model
needs its config, its init and one `build_*_fixture` line):

    1. Shared settings (determinism, paths)
    2. Models: configs -> model descriptions -> hsm_torch.HsmTransformer
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from hsm_torch import DESCRIPTION_FORMAT, HsmTransformer  # noqa: E402
from hsm_torch.safetensors_io import read_safetensors_numpy, write_safetensors  # noqa: E402

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
# 2. Models: built by python/hsm_torch (the PyTorch definition of the engine's
#    models, test/torch-engine-parity.test.ts) from a model description, which
#    this script writes itself from the configs below rather than asking the
#    engine: plan and pow2 schedule are resolved here, and the fixture tests
#    check the engine resolves them to the same shifts and parameter names.
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


def description(cfg, kinds, positions):
    """The model description (src/model/describe.ts's format) of a config and
    its blocks' mixers; HSM layers take pow2 shifts counted among HSM layers."""
    assert cfg.bias and cfg.dropout == 0.0  # the engine's models always have biases
    blocks, hsm_layer = [], 0
    for kind in kinds:
        if kind == "attn":
            blocks.append({"mixer": "attn", "options": {}, "shifts": []})
        else:
            shift = pow2_shift(hsm_layer, cfg.block_size)
            blocks.append({"mixer": kind, "options": {}, "shifts": [shift] * cfg.hsm_heads})
            hsm_layer += 1
    return {
        "format": DESCRIPTION_FORMAT,
        "vocab_size": cfg.vocab_size,
        "block_size": cfg.block_size,
        "n_layer": len(kinds),
        "n_head": cfg.n_head,
        "n_embd": cfg.n_embd,
        "ln_eps": cfg.ln_eps,
        "dropout": cfg.dropout,
        "positions": positions,
        "ffn_hidden": 4 * cfg.n_embd,
        "blocks": blocks,
    }


def gpt_model(cfg):
    """nanoGPT's GPT: attention in every block, learned positions, tied head."""
    return HsmTransformer.from_description(description(cfg, ["attn"] * cfg.n_layer, positions=True))


def hsm_model(cfg):
    """A planned model (ab / gated / pair mixers, hybrids); wpe iff the plan has attention."""
    assert cfg.schedule == "pow2"
    kinds = parse_plan(cfg.plan)
    assert len(kinds) == cfg.n_layer, (cfg.plan, cfg.n_layer)
    assert cfg.positions == ("attn" in kinds)
    return HsmTransformer.from_description(description(cfg, kinds, cfg.positions))


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
            p.copy_(value_of(name, noise, model.desc["n_layer"]))


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
    back, meta = read_safetensors_numpy(path)
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
    vocab_size = model.desc["vocab_size"]

    # --- float32 model + data from one seeded generator
    gen = torch.Generator().manual_seed(seed)
    init_fn(model, gen)
    idx = torch.randint(0, vocab_size, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, vocab_size, (B, T), generator=gen, dtype=torch.int64)
    names = [n for n, _ in model.named_parameters()]
    weights_f32 = {n: to_np(p, np.float32) for n, p in model.named_parameters()}

    # --- float64: logits, loss, grads at init
    model = model.double()
    logits, loss, grads = forward_backward(model, idx, targets)
    print(f"{tag}: loss at init {loss.item():.6f} (ln V = {math.log(vocab_size):.6f})")
    assert abs(loss.item() - math.log(vocab_size)) < 0.3, "init loss far from ln V"
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
    build_fixture(path, "gpt_tiny", gpt_model(cfg), init_gpt_, INIT_DESCRIPTION, meta,
                  B=4, T=32, seed=1337, opt_cfg=OPT_CFG)


def build_hsm_fixture(path, tag, plan, max_norm):
    """A planned model (pure HSM or hybrid) at vocab 65, context 32, B=4, T=32.

    n_embd is 32 (not GPT's 64) so that the 5-layer fixtures stay near 1 MB:
    every stored parameter costs 20 bytes (F32 init + F64 grad + F64 step5).
    """
    kinds = parse_plan(plan)
    cfg = HSMConfig(plan=plan, n_layer=len(kinds), positions="attn" in kinds)
    model = hsm_model(cfg)
    shifts = [b["shifts"] for b in model.desc["blocks"]]
    meta = {"type": "hybrid" if "attn" in kinds and len(set(kinds)) > 1 else "hsm",
            **asdict(cfg), "shifts": shifts, "tied_lm_head": True, "gelu": "tanh"}
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
