"""hsm's models in PyTorch: the one PyTorch definition of the TypeScript engine's models.

    from hsm_torch import HsmTransformer
    model = HsmTransformer.from_description(desc)   # desc: src/model/describe.ts's JSON
    logits, loss = model(idx, targets)              # idx, targets: [B, T] int64

Parameter names and shapes equal the TypeScript ParameterStore's (and so our
safetensors checkpoints'). `python3 -m hsm_torch.parity` checks it against the
engine (test/torch-engine-parity.test.ts). model.decode_step() is the
recurrent form (one token, with KV caches and HSM windows), which
`python3 -m hsm_torch.onnx_export` writes as ONNX (`hsm export --onnx`).
"""

from .mixers import HAS_SDPA, MIXERS, build_mixer, shift_groups
from .model import DESCRIPTION_FORMAT, HsmTransformer

__all__ = ["DESCRIPTION_FORMAT", "HAS_SDPA", "HsmTransformer", "MIXERS", "build_mixer", "shift_groups"]
