"""Token folders shared by both engines (written by `hsm tokenize`, src/data/token-files.ts).

A folder holds train.bin and val.bin (little-endian uint16 when the
vocabulary fits, else uint32, as nanoGPT's prepare.py writes them) and
tokens.json (format, tokenizer, vocab_size, dtype, token counts). Batches
are sampled exactly as src/data/dataset.ts samples them, from the shared Rng.
"""

import json
import os

import numpy as np

from .rng import Rng

FORMAT = "hsm-tokens/1"
DTYPES = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}


class TokenFolder:
    def __init__(self, folder: str):
        with open(os.path.join(folder, "tokens.json"), encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("format") != FORMAT or meta.get("dtype") not in DTYPES:
            raise ValueError(f"{folder}/tokens.json is not an {FORMAT} description")
        self.meta = meta
        self.vocab_size = int(meta["vocab_size"])
        dtype = DTYPES[meta["dtype"]]
        self.splits = {}
        for split, count in (("train", meta["train_tokens"]), ("val", meta["val_tokens"])):
            path = os.path.join(folder, f"{split}.bin")
            if os.path.getsize(path) != count * dtype.itemsize:
                raise ValueError(f"{path} holds {os.path.getsize(path)} bytes, tokens.json says {count} tokens of {dtype.itemsize}")
            # memmap: a corpus larger than memory is read page by page, as nanoGPT does.
            self.splits[split] = np.memmap(path, dtype=dtype, mode="r") if count else np.zeros(0, dtype)

    def signature(self) -> dict:
        """What two machines' copies of the data must agree on."""
        return {k: self.meta[k] for k in ("tokenizer", "vocab_size", "train_tokens", "val_tokens")}

    def sample_batch(self, split: str, rng: Rng, batch_size: int, context: int):
        """batch_size windows at offsets rng.int(len − context): x = data[i:i+T], y = data[i+1:i+T+1] (int64)."""
        data = self.splits[split]
        if len(data) < context + 1:
            raise ValueError(f"the {split} split has {len(data)} tokens, fewer than context + 1 = {context + 1}")
        starts = [rng.int(len(data) - context) for _ in range(batch_size)]
        x = np.stack([np.asarray(data[s : s + context], dtype=np.int64) for s in starts])
        y = np.stack([np.asarray(data[s + 1 : s + 1 + context], dtype=np.int64) for s in starts])
        return x, y
