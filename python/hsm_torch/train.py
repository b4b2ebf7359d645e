"""The torch engine of `hsm train --engine torch`: nanoGPT's loop on DistributedDataParallel.

Run by the TypeScript CLI, never by hand: it validates the configuration,
resolves the model description, writes config.json, the step-0 checkpoint
and the token folder, then starts this module on every rank (torchrun for
several processes, plain python for one) with the path of launch.json:

    python3 -m hsm_torch.train RUN/torch/launch.json

Every rank draws the same global batch from the shared Rng and trains on
its own rows of it, so N processes with batch B/N each step exactly as one
process with batch B. Rank 0 writes checkpoints in our format (either
engine resumes them) and metrics.jsonl with the native engine's keys, and
prints progress as `@hsm {json}` lines for the CLI to show.
"""

import contextlib
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.distributed as dist

from . import checkpoint
from .model import HsmTransformer
from .rng import Rng
from .tokens import TokenFolder

DIVERGED_EXIT = 3  # the CLI turns it into the native engine's "training diverged" message


def emit(event: str, **fields) -> None:
    print("@hsm " + json.dumps({"event": event, **fields}), flush=True)


def learning_rate(cfg: dict, it: int) -> float:
    """Linear warm-up, then cosine decay to minLr: learningRate() in src/train/config.ts."""
    decay_iters = cfg.get("lrDecayIters") or cfg["maxIters"]
    if it < cfg["warmupIters"]:
        return cfg["lr"] * (it + 1) / (cfg["warmupIters"] + 1)
    if it > decay_iters:
        return cfg["minLr"]
    ratio = (it - cfg["warmupIters"]) / max(1, decay_iters - cfg["warmupIters"])
    return cfg["minLr"] + 0.5 * (1 + math.cos(math.pi * ratio)) * (cfg["lr"] - cfg["minLr"])


class Ranks:
    """This process's place in the job; one process needs no process group."""

    def __init__(self, device_kind: str):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device_kind == "cuda":
            torch.cuda.set_device(local)
            self.device = torch.device("cuda", local)
        else:
            self.device = torch.device("cpu")
        if self.world > 1:
            dist.init_process_group("nccl" if device_kind == "cuda" else "gloo")

    def rows(self, batch_size: int) -> slice:
        share = batch_size // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def mean(self, value: float) -> float:
        """The mean of a per-rank value over all ranks (equal shares make it the global mean)."""
        if self.world == 1:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.item() / self.world

    def any(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        t = torch.tensor([1 if flag else 0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def from_rank0(self, obj):
        """Rank 0's value of a picklable object, on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    def broadcast(self, tensor) -> None:
        if self.world > 1:
            dist.broadcast(tensor, src=0)

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def batch_tensors(x, y, rows: slice, device):
    return torch.from_numpy(x[rows]).to(device), torch.from_numpy(y[rows]).to(device)


@torch.no_grad()
def estimate_loss(model, data: TokenFolder, ranks: Ranks, iters: int, batch_size: int, seed: int) -> float:
    """Mean validation loss over `iters` batches from Rng(seed): estimateLoss() in src/train/evaluate.ts."""
    rng, total = Rng(seed), 0.0
    model.eval()
    for _ in range(iters):
        x, y = data.sample_batch("val", rng, batch_size, model.desc["block_size"])
        _, loss = model(*batch_tensors(x, y, ranks.rows(batch_size), ranks.device))
        total += ranks.mean(loss.item())
    model.train()
    return total / iters


def main(launch_path: str) -> int:
    with open(launch_path, encoding="utf-8") as f:
        launch = json.load(f)
    cfg, run_dir = launch["train"], launch["run_dir"]
    identity = launch.get("checkpoint_metadata", {})
    ranks = Ranks(launch["device"])
    stop = {"requested": False}

    def request_stop(signum, frame):  # finish the step, save, leave; a second signal is the launcher's SIGKILL
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    parent = int(os.environ["HSM_PARENT_PID"]) if "HSM_PARENT_PID" in os.environ else None
    data = TokenFolder(launch["tokens_dir"])
    raw = HsmTransformer.from_description(launch["description"])
    # Rank 0 reads the run folder and sends the others what they need, so that the other machines of a
    # multi-node job need no copy of it: the configuration and training state here, the weights when
    # DDP wraps the model (it broadcasts rank 0's), the AdamW moments below.
    weights = moments = state = None
    if ranks.rank == 0:
        weights, moments, state = checkpoint.load(run_dir, identity)
        raw.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, strict=True)
    shared = ranks.from_rank0({"train": cfg, "description": launch["description"], "tokens": data.signature(), "state": state})
    if shared["description"] != launch["description"] or shared["tokens"] != data.signature():
        what = "model" if shared["description"] != launch["description"] else "token data"
        print(f"hsm: rank {ranks.rank}: this machine's {what} differs from node 0's; give every node the same flags and corpus", file=sys.stderr)
        return 2
    cfg, state = shared["train"], shared["state"]
    B, accum = cfg["batchSize"], cfg["gradAccum"]
    raw.to(ranks.device)
    model = raw
    if ranks.world > 1:
        model = torch.nn.parallel.DistributedDataParallel(raw, device_ids=[ranks.device.index] if launch["device"] == "cuda" else None)

    named = list(raw.named_parameters())  # the same order on every rank: the moments' broadcasts follow it
    # Rank 0 saves in the order of the file it read (ours), not torch's module order.
    saved_order = [(n, dict(named)[n]) for n in weights] if weights is not None else named
    decay = [p for _, p in named if p.dim() >= 2]  # nanoGPT's rule, as the native AdamW applies it
    no_decay = [p for _, p in named if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg["weightDecay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg["lr"],
        betas=(cfg["beta1"], cfg["beta2"]),
        eps=1e-8,
    )
    optimizer_step = state["optimizer_step"]
    if optimizer_step > 0:
        for name, p in named:
            m, v = moments[name] if moments else (np.zeros(tuple(p.shape), np.float32),) * 2
            exp_avg, exp_avg_sq = torch.from_numpy(np.array(m)).to(ranks.device), torch.from_numpy(np.array(v)).to(ranks.device)
            ranks.broadcast(exp_avg)
            ranks.broadcast(exp_avg_sq)
            optimizer.state[p] = {"step": torch.tensor(float(optimizer_step)), "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}

    rng = Rng(0)
    rng.set_state(state["rng"])
    step, best, elapsed_before = state["step"], state["best_val_loss"], state["elapsed_s"]
    t0 = time.perf_counter()
    elapsed = lambda: elapsed_before + time.perf_counter() - t0  # noqa: E731
    metrics_path = os.path.join(run_dir, "metrics.jsonl")
    params = [p for _, p in named]

    def save():
        if ranks.rank == 0:
            w = [(n, p.detach().cpu().numpy().astype(np.float32)) for n, p in saved_order]
            mv = []
            for n, p in saved_order:
                s = optimizer.state.get(p)
                zeros = np.zeros(tuple(p.shape), np.float32)
                mv.append((f"m.{n}", s["exp_avg"].cpu().numpy() if s else zeros))
                mv.append((f"v.{n}", s["exp_avg_sq"].cpu().numpy() if s else zeros))
            checkpoint.save(
                run_dir,
                w,
                mv,
                {"step": step, "optimizer_step": optimizer_step, "rng": rng.state(), "best_val_loss": best, "elapsed_s": elapsed()},
                identity,
            )
            emit("checkpoint", step=step)
        ranks.barrier()

    if ranks.rank == 0:
        emit("start", step=step, world_size=ranks.world, device=str(ranks.device), torch=torch.__version__)
    T = launch["description"]["block_size"]
    while step < cfg["maxIters"]:
        lr = learning_rate(cfg, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        # Dropout masks come from torch's generator, seeded per step and rank so a resume redraws them.
        torch.manual_seed(cfg["seed"] * 1000003 + step * 1009 + ranks.rank)
        optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for micro in range(accum):
            x, y = data.sample_batch("train", rng, B, T)  # every rank draws the whole batch, keeps its rows
            xb, yb = batch_tensors(x, y, ranks.rows(B), ranks.device)
            sync_now = micro == accum - 1 or ranks.world == 1
            context = model.no_sync() if not sync_now else contextlib.nullcontext()
            with context:
                _, loss = model(xb, yb)
                (loss / accum).backward()
            loss_sum += loss.item()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg["gradClip"] if cfg["gradClip"] > 0 else float("inf")))
        loss = ranks.mean(loss_sum / accum)
        if not (math.isfinite(loss) and math.isfinite(grad_norm)):
            if ranks.rank == 0:
                emit("diverged", step=step + 1, loss=str(loss), grad_norm=str(grad_norm))
            return DIVERGED_EXIT
        optimizer.step()
        optimizer_step += 1
        step += 1
        m = {
            "step": step,
            "train_loss": loss,
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens_per_s": B * T * accum / (time.perf_counter() - started),
            "elapsed_s": 0.0,
        }
        if step % cfg["evalInterval"] == 0 or step == cfg["maxIters"]:
            m["val_loss"] = estimate_loss(raw, data, ranks, cfg["evalIters"], B, cfg["seed"] + 2)
            if best is None or m["val_loss"] < best:
                best = m["val_loss"]
        m["elapsed_s"] = elapsed()
        if ranks.rank == 0:
            if step % cfg["logInterval"] == 0 or "val_loss" in m or step == cfg["maxIters"]:
                with open(metrics_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(m, separators=(",", ":")) + "\n")
            emit("step", **m)
        if step % cfg["checkpointInterval"] == 0 or step == cfg["maxIters"]:
            save()
        # The CLI that started us is gone (killed): save and leave rather than train unwatched.
        orphaned = parent is not None and os.getppid() != parent
        if step < cfg["maxIters"] and ranks.any(stop["requested"] or orphaned):
            save()
            if ranks.rank == 0:
                emit("stopped", step=step)
            return 0
    if ranks.rank == 0:
        emit("done", step=step, best_val_loss=best)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python3 -m hsm_torch.train RUN/torch/launch.json (started by `hsm train --engine torch`)", file=sys.stderr)
        sys.exit(2)
    code = main(sys.argv[1])
    if dist.is_initialized():
        dist.destroy_process_group()
    sys.exit(code)
