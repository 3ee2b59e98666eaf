"""Portable, deterministic synthetic BERT weights (the Python twin of src/model/synthetic_checkpoint.cc).

Every element comes from a counter-based generator that Python (numpy) and C++ implement bit-exactly,
so CI can rebuild a checkpoint of any shape without Python or downloads:

  key(tensor)  = FNV-1a 64 of the full Hugging Face tensor name, XOR seed
  z            = key + (i + 1) * 0x9E3779B97F4A7C15             (mod 2^64; i = flat row-major index)
  z            = splitmix64 finaliser(z)
  u            = (z >> 11) * 2^-53                              (double in [0, 1))
  value        = float32(center + scale * (2u - 1))             (double arithmetic, one rounding)

center/scale by tensor kind: LayerNorm weight 1/0.1, LayerNorm bias 0/0.05, classifier.weight 0/0.5,
any other bias 0/0.02, embeddings and dense weights 0/0.05.
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


def tensor_key(name: str, seed: int) -> int:
    return fnv1a64(name.encode("utf-8")) ^ (seed & MASK64)


def center_scale(name: str) -> tuple[float, float]:
    if name.endswith("LayerNorm.weight"):
        return 1.0, 0.1
    if name.endswith("LayerNorm.bias"):
        return 0.0, 0.05
    if name == "classifier.weight":
        return 0.0, 0.5
    if name.endswith(".bias"):
        return 0.0, 0.02
    return 0.0, 0.05


def _splitmix_uniform(key: int, start: int, stop: int) -> np.ndarray:
    """u in [0,1) (float64) for flat indices start..stop-1."""
    with np.errstate(over="ignore"):
        i1 = np.arange(start + 1, stop + 1, dtype=np.uint64)
        z = np.uint64(key) + i1 * np.uint64(GOLDEN_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def synthetic_values(name: str, seed: int, start: int, stop: int) -> np.ndarray:
    """float32 values of elements start..stop-1 of tensor `name`."""
    center, scale = center_scale(name)
    u = _splitmix_uniform(tensor_key(name, seed), start, stop)
    x = 2.0 * u - 1.0                 # exact in double
    v = center + scale * x            # two roundings in double, as in C++ (no FMA)
    return v.astype(np.float32)       # one rounding to float32 (nearest-even)


def synthetic_tensor(name: str, shape: tuple[int, ...], seed: int, chunk: int = 1 << 22) -> np.ndarray:
    numel = int(np.prod(shape)) if shape else 1
    out = np.empty(numel, dtype=np.float32)
    for s in range(0, numel, chunk):
        e = min(numel, s + chunk)
        out[s:e] = synthetic_values(name, seed, s, e)
    return out.reshape(shape)


def bert_tensor_specs(num_layers: int, hidden: int, intermediate: int, vocab: int, max_pos: int,
                      type_vocab: int, num_labels: int) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of a BertForSequenceClassification state dict (HF order)."""
    specs: list[tuple[str, tuple[int, ...]]] = [
        ("bert.embeddings.word_embeddings.weight", (vocab, hidden)),
        ("bert.embeddings.position_embeddings.weight", (max_pos, hidden)),
        ("bert.embeddings.token_type_embeddings.weight", (type_vocab, hidden)),
        ("bert.embeddings.LayerNorm.weight", (hidden,)),
        ("bert.embeddings.LayerNorm.bias", (hidden,)),
    ]
    for l in range(num_layers):
        p = f"bert.encoder.layer.{l}."
        for n in ("query", "key", "value"):
            specs += [(p + f"attention.self.{n}.weight", (hidden, hidden)), (p + f"attention.self.{n}.bias", (hidden,))]
        specs += [
            (p + "attention.output.dense.weight", (hidden, hidden)),
            (p + "attention.output.dense.bias", (hidden,)),
            (p + "attention.output.LayerNorm.weight", (hidden,)),
            (p + "attention.output.LayerNorm.bias", (hidden,)),
            (p + "intermediate.dense.weight", (intermediate, hidden)),
            (p + "intermediate.dense.bias", (intermediate,)),
            (p + "output.dense.weight", (hidden, intermediate)),
            (p + "output.dense.bias", (hidden,)),
            (p + "output.LayerNorm.weight", (hidden,)),
            (p + "output.LayerNorm.bias", (hidden,)),
        ]
    specs += [
        ("bert.pooler.dense.weight", (hidden, hidden)),
        ("bert.pooler.dense.bias", (hidden,)),
        ("classifier.weight", (num_labels, hidden)),
        ("classifier.bias", (num_labels,)),
    ]
    return specs


def synthetic_state_dict(specs, seed: int) -> dict[str, np.ndarray]:
    return {name: synthetic_tensor(name, shape, seed) for name, shape in specs}


if __name__ == "__main__":
    # A few values, handy when debugging the C++ twin.
    for name in ("bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.weight", "classifier.weight"):
        v = synthetic_values(name, 1, 0, 4)
        print(name, hex(tensor_key(name, 1)), [f"{x:.9g}" for x in v], [hex(int(b)) for b in v.view(np.uint32)])
