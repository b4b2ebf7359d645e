"""The batch sampler's random generator, bit-identical to src/tensor/random.ts.

Both engines draw training and evaluation batches from xoshiro128** seeded
with splitmix32, so a run sees the same batches whichever engine trains it,
a resumed run continues the other engine's stream, and `hsm eval` scores the
batches the torch trainer scored. Python ints emulate the 32-bit arithmetic.
"""

MASK = 0xFFFFFFFF


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & MASK


class Rng:
    def __init__(self, seed: int):
        x = seed & MASK
        words = []
        for _ in range(4):  # splitmix32: nearby seeds give unrelated streams
            x = (x + 0x9E3779B9) & MASK
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & MASK
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & MASK
            words.append((z ^ (z >> 16)) & MASK)
        self.s = words

    def next_uint32(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & MASK, 7) * 9) & MASK
        t = (s1 << 9) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def int(self, n: int) -> int:
        """Uniform integer in [0, n), computed in doubles exactly as the TypeScript side does."""
        return int((self.next_uint32() / 4294967296.0) * n)

    def state(self) -> list:
        return list(self.s)

    def set_state(self, words) -> None:
        if len(words) != 4:
            raise ValueError(f"an Rng state has 4 words, got {len(words)}")
        self.s = [int(w) & MASK for w in words]
