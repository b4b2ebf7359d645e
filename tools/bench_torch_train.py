#!/usr/bin/python3
"""PyTorch training-throughput reference for `hsm bench train`, printed as JSON Lines.

Usage:
  OMP_NUM_THREADS=T MKL_NUM_THREADS=T OPENBLAS_NUM_THREADS=T /usr/bin/python3 tools/bench_torch_train.py \
      --config NAME --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12 \
      --vocab-size 65 --threads T --steps 30 --warmup 5 [--seed 1337] [--profile]

The model is python/hsm_torch's HsmTransformer described as GPT: nanoGPT's
model.py GPT (learned positions, pre-LN blocks, causal self-attention, GELU MLP
of width 4d, LM head tied to the token embedding, biases on, dropout 0), with
our init, which has nanoGPT's distributions (N(0, 0.02), residual projections
N(0, 0.02/sqrt(2 n_layer)), zero biases); the optimizer is nanoGPT's
configure_optimizers (AdamW with two parameter groups: weight decay on every
parameter of 2+ dimensions, none on the rest; `fused` only where torch.optim.AdamW
accepts it, which 1.13 does not); the loop is train.py's eager CPU loop:

    logits, loss = model(X, Y); loss.backward()
    clip_grad_norm_(model.parameters(), grad_clip); optimizer.step()
    optimizer.zero_grad(set_to_none=True)

Differences from nanoGPT, all deliberate: the GELU is the tanh approximation
(GPT-2's, and the one the TypeScript engine implements; nanoGPT's nn.GELU() is
the erf form), batches are random tokens generated before timing (so data
loading is outside the timed step in both engines), and the disabled
GradScaler of train.py's fp32 CPU path is left out (it is a no-op).

Attention uses torch.nn.functional.scaled_dot_product_attention where it
exists (torch >= 2.0), else nanoGPT's fallback: explicit q·kᵀ, causal mask,
softmax, ·v. The record's "attention" field says which ran.

Timing: `warmup` untimed steps, then `steps` timed steps (time.perf_counter
around each whole step); the median and the best step are reported. With
--profile, a second pass of `steps` steps times forward, backward, optimizer
(clip + step) and zero_grad separately; the headline numbers come from the
first, unprofiled pass.

The caller sets OMP_NUM_THREADS/MKL_NUM_THREADS/OPENBLAS_NUM_THREADS and unsets
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (on this machine those pick an older,
slower OpenBLAS kernel).
"""
import argparse
import inspect
import json
import os
import statistics
import sys
import time

try:
    import torch
except ImportError as err:  # reported by the caller as "torch comparison skipped: ..."
    print(f"torch is not importable: {err}", file=sys.stderr)
    sys.exit(3)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from hsm_torch import DESCRIPTION_FORMAT, HAS_SDPA, HsmTransformer  # noqa: E402


def gpt_description(vocab_size, block_size, n_layer, n_head, n_embd):
    """nanoGPT's GPT as a model description (src/model/describe.ts's format)."""
    return {
        "format": DESCRIPTION_FORMAT,
        "vocab_size": vocab_size,
        "block_size": block_size,
        "n_layer": n_layer,
        "n_head": n_head,
        "n_embd": n_embd,
        "ln_eps": 1e-5,
        "dropout": 0.0,
        "positions": True,
        "ffn_hidden": 4 * n_embd,
        "blocks": [{"mixer": "attn", "options": {}, "shifts": []} for _ in range(n_layer)],
    }


def configure_optimizers(model, weight_decay, learning_rate, betas):
    """nanoGPT's GPT.configure_optimizers: decay on 2+-dimensional parameters only."""
    param_dict = {pn: p for pn, p in model.named_parameters() if p.requires_grad}
    decay_params = [p for p in param_dict.values() if p.dim() >= 2]
    nodecay_params = [p for p in param_dict.values() if p.dim() < 2]
    groups = [
        {"params": decay_params, "weight_decay": weight_decay},
        {"params": nodecay_params, "weight_decay": 0.0},
    ]
    fused_available = "fused" in inspect.signature(torch.optim.AdamW).parameters
    extra = dict(fused=False) if fused_available else dict()  # CPU: nanoGPT's use_fused is False
    return torch.optim.AdamW(groups, lr=learning_rate, betas=betas, **extra), fused_available


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--n-layer", type=int, required=True)
    ap.add_argument("--n-head", type=int, required=True)
    ap.add_argument("--n-embd", type=int, required=True)
    ap.add_argument("--block-size", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--vocab-size", type=int, default=65)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--grad-clip", type=float, default=1.0)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = HsmTransformer.from_description(
        gpt_description(a.vocab_size, a.block_size, a.n_layer, a.n_head, a.n_embd))
    model.train()
    optimizer, fused_available = configure_optimizers(model, a.weight_decay, a.lr, (0.9, a.beta2))
    B, T = a.batch_size, a.block_size

    # Random token batches, made before timing: x = seq[:-1], y = seq[1:] as get_batch does.
    gen = torch.Generator().manual_seed(a.seed + 1)
    n_batches = a.warmup + a.steps
    seqs = torch.randint(0, a.vocab_size, (n_batches, B, T + 1), generator=gen, dtype=torch.long)
    batches = [(seqs[i, :, :-1].contiguous(), seqs[i, :, 1:].contiguous()) for i in range(n_batches)]

    def step(X, Y):
        logits, loss = model(X, Y)
        loss.backward()
        if a.grad_clip != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def profiled_step(X, Y, acc):
        t0 = time.perf_counter()
        logits, loss = model(X, Y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        if a.grad_clip != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        optimizer.step()
        t3 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        acc["forward"].append((t1 - t0) * 1e3)
        acc["backward"].append((t2 - t1) * 1e3)
        acc["optimizer"].append((t3 - t2) * 1e3)
        acc["zero_grad"].append((t4 - t3) * 1e3)
        return loss.item()

    losses, times = [], []
    for i in range(a.warmup):
        losses.append(step(*batches[i]))
    for i in range(a.warmup, n_batches):
        t0 = time.perf_counter()
        losses.append(step(*batches[i]))
        times.append((time.perf_counter() - t0) * 1e3)

    sorted_times = sorted(times)
    median = statistics.median(sorted_times)
    best = sorted_times[0]
    r3 = lambda x: round(x, 3)
    record = {
        "bench": "train", "config": a.config, "engine": "torch",
        "tokens_per_s": round(B * T / (median / 1e3), 1), "tokens_per_s_best": round(B * T / (best / 1e3), 1),
        "ms_per_step": r3(median), "ms_per_step_best": r3(best), "ms_per_step_mean": r3(sum(times) / len(times)),
        "steps": a.steps, "warmup": a.warmup, "threads": a.threads,
        "params": sum(p.numel() for p in model.parameters()),
        "batch": B, "context": T, "n_layer": a.n_layer, "n_head": a.n_head, "n_embd": a.n_embd, "vocab": a.vocab_size,
        "tokens_per_step": B * T,
        "loss_first": round(losses[0], 4), "loss_last": round(losses[-1], 4),
        "attention": "sdpa" if HAS_SDPA else "manual",
        "adamw": "fused=False" if fused_available else "single-tensor (torch has no fused AdamW)",
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
    }
    if a.profile:
        acc = {"forward": [], "backward": [], "optimizer": [], "zero_grad": []}
        for i in range(a.steps):
            profiled_step(*batches[a.warmup + i], acc)
        record["profile"] = {f"{k}_ms": r3(statistics.median(v)) for k, v in acc.items()}
        record["profile_of"] = "median per phase over a second pass of `steps` steps; optimizer = clip_grad_norm_ + AdamW.step"
    print(json.dumps(record), flush=True)


main()
