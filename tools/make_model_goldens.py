#!/usr/bin/env python3
"""Reference goldens for senti's forward pass, and the synthetic checkpoints they are computed with.

Regenerates (run from anywhere, with the repo's venv: .venv/bin/python tools/make_model_goldens.py):
  tools/work/rbt3-synthetic/       hfl/rbt3-shaped model, seed 1 (model.safetensors + pytorch_model.bin,
                                   ~150 MB each; git-ignored, for users and benchmarks)
  tests/data/models/tiny/          tiny model, seed 2 (committed; both weight formats)
  tests/data/goldens/tiny_logits.json, rbt3_logits.json
                                   Hugging Face logits (BertForSequenceClassification, fp32, eager
                                   attention) per input, and for padded mixed-length batches
  tests/data/goldens/synthetic_weights.json
                                   sample values of every tensor + SHA-256 of each model.safetensors,
                                   so the C++ writer (src/model/synthetic_checkpoint.cc) can prove it
                                   produces the same checkpoint

Inputs are stored by reference: "dev_lines" are 0-based line indices into
data/sentiment/dev.jsonl (committed; --dev) whose texts are joined with "" (several lines make the long inputs);
hand-written inputs are stored literally as "text".
The weights come from tools/synthetic_weights.py, bit-identical to the C++ generator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic_weights as sw  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# The committed data (data/README.md); --dev and --vocab override them.
DEV = REPO / "data/sentiment/dev.jsonl"
VOCAB = REPO / "data/vocab/bert-base-chinese-vocab.txt"
LABELS = ["negative", "positive"]

TINY = dict(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, intermediate_size=64)
RBT3 = dict(num_hidden_layers=3, hidden_size=768, num_attention_heads=12, intermediate_size=3072)
COMMON = dict(vocab_size=21128, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12)

HAND_TEXTS = [
    "",
    "好",
    "这件衣服的质量真的太棒了，非常满意！",
    "物流速度太慢了，等了半个多月，差评。",
    "卖家服务态度很好，耐心解答我的问题。",
    "收到货后发现有破损，体验极差。",
    "性价比很高，值得推荐购买。",
    "Hello WORLD! Café déjà vu, iPhone 15 Pro Max 256GB 很好用",
    "  \t 空白  与\n换行  ",
    "😀👍 表情符号也要能处理",
]


# ----------------------------------------------------------------------------------------------
# Checkpoints
# ----------------------------------------------------------------------------------------------

def full_config(shape: dict) -> dict:
    return {**COMMON, **shape}


def config_json(cfg: dict) -> dict:
    """The same config.json the C++ writer produces (src/model/synthetic_checkpoint.cc)."""
    return {
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": cfg["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": cfg["intermediate_size"],
        "layer_norm_eps": cfg["layer_norm_eps"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "type_vocab_size": cfg["type_vocab_size"],
        "vocab_size": cfg["vocab_size"],
        "torch_dtype": "float32",
        "id2label": {str(i): l for i, l in enumerate(LABELS)},
        "label2id": {l: i for i, l in enumerate(LABELS)},
    }


def specs_for(cfg: dict):
    return sw.bert_tensor_specs(cfg["num_hidden_layers"], cfg["hidden_size"], cfg["intermediate_size"],
                                cfg["vocab_size"], cfg["max_position_embeddings"], cfg["type_vocab_size"],
                                len(LABELS))


def build_model(cfg: dict, seed: int):
    from transformers import BertConfig, BertForSequenceClassification

    hf_cfg = BertConfig(**cfg, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
                        label2id={l: i for i, l in enumerate(LABELS)})
    try:
        hf_cfg._attn_implementation = "eager"
    except Exception:  # older/newer transformers: best effort
        pass
    model = BertForSequenceClassification(hf_cfg).eval().float()
    specs = specs_for(cfg)
    assert [n for n, _ in specs] == list(model.state_dict().keys()), "tensor list differs from HF's state dict"
    state = {n: torch.from_numpy(sw.synthetic_tensor(n, shape, seed)) for n, shape in specs}
    model.load_state_dict(state, strict=True)
    return model, state


def write_checkpoint(dir_: Path, cfg: dict, state: dict, model) -> None:
    from safetensors.torch import save_file

    dir_.mkdir(parents=True, exist_ok=True)
    # Same bytes as the C++ writer: json.dumps(indent=2) matches nlohmann's dump(2) for these keys.
    (dir_ / "config.json").write_text(json.dumps(config_json(cfg), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    (dir_ / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "model_max_length": 512, "tokenizer_class": "BertTokenizer"},
                   indent=2, sort_keys=True) + "\n", encoding="utf-8")
    shutil.copyfile(VOCAB, dir_ / "vocab.txt")
    save_file({k: v.contiguous() for k, v in state.items()}, str(dir_ / "model.safetensors"),
              metadata={"format": "pt"})
    torch.save(model.state_dict(), dir_ / "pytorch_model.bin")
    for f in dir_.iterdir():
        f.chmod(0o644)  # safetensors creates its file 0600


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_reload(dir_: Path, model, enc_list) -> None:
    """HF must load both weight files of the folder and agree with the in-memory model."""
    from transformers import BertForSequenceClassification

    for use_st in (True, False):
        m2 = BertForSequenceClassification.from_pretrained(dir_, use_safetensors=use_st,
                                                           attn_implementation="eager").eval()
        for ids in enc_list:
            a = run_single(model, ids)
            b = run_single(m2, ids)
            assert a == b, f"{dir_} (safetensors={use_st}) reloads to different logits: {a} vs {b}"


# ----------------------------------------------------------------------------------------------
# Inputs and logits
# ----------------------------------------------------------------------------------------------

def load_dev() -> list[str]:
    with open(DEV, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


class Tok:
    """HF BertTokenizer semantics. transformers 5 silently ignores BertTokenizer(vocab_file=...), so the
    Python reference (BertTokenizerLegacy) is used and cross-checked with the tokenizers-backed one."""

    def __init__(self):
        from transformers.models.bert import BertTokenizer
        try:
            from transformers.models.bert import BertTokenizerLegacy as Slow
        except ImportError:  # transformers 4: BertTokenizer is the Python one
            Slow = BertTokenizer
        self.slow = Slow(vocab_file=str(VOCAB), do_lower_case=True)
        try:
            self.fast = BertTokenizer(vocab=str(VOCAB), do_lower_case=True)
        except TypeError:
            self.fast = None
        self.mismatches = 0

    def encode(self, text: str, max_length: int) -> tuple[list[int], bool]:
        ids = self.slow(text, truncation=True, max_length=max_length)["input_ids"]
        full = self.slow(text, truncation=False)["input_ids"] if len(ids) == max_length else ids
        if self.fast is not None:
            f = self.fast(text, truncation=True, max_length=max_length)["input_ids"]
            if f != ids:
                self.mismatches += 1
                print(f"warning: slow/fast tokenizers differ on {text[:40]!r}", file=sys.stderr)
        return ids, len(full) > len(ids)


@torch.no_grad()
def run_single(model, ids: list[int]) -> list[float]:
    t = torch.tensor([ids], dtype=torch.long)
    out = model(input_ids=t, attention_mask=torch.ones_like(t), token_type_ids=torch.zeros_like(t)).logits
    return [float(x) for x in out[0].float()]


@torch.no_grad()
def run_padded(model, batch: list[list[int]]) -> list[list[float]]:
    n = max(len(x) for x in batch)
    ids = torch.zeros(len(batch), n, dtype=torch.long)
    mask = torch.zeros(len(batch), n, dtype=torch.long)
    for i, x in enumerate(batch):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).logits
    return [[float(v) for v in row] for row in out.float()]


def long_sources(dev: list[str], tok: Tok, rng: random.Random, count: int, min_tokens: int) -> list[list[int]]:
    """Runs of consecutive dev lines whose concatenation has more than min_tokens word pieces."""
    out = []
    starts = rng.sample(range(len(dev)), count)
    for s in starts:
        lines, text = [], ""
        i = s
        while True:
            lines.append(i)
            text += dev[i]
            i = (i + 1) % len(dev)
            if len(tok.slow.tokenize(text)) > min_tokens:
                break
        out.append(lines)
    return out


def make_records(dev: list[str], tok: Tok, model, dev_idx: list[int], idx128: list[int],
                 longs: list[list[int]]) -> list[dict]:
    recs = []

    def add(rid: str, source: dict, text: str, max_length: int):
        ids, truncated = tok.encode(text, max_length)
        recs.append({"id": rid, "source": source, "max_length": max_length, "truncated": truncated,
                     "input_ids": ids, "logits": run_single(model, ids)})

    for i, t in enumerate(HAND_TEXTS):
        for ml in (512, 128):
            add(f"hand{i}@{ml}", {"text": t}, t, ml)
    for i in dev_idx:
        add(f"dev{i}@512", {"dev_lines": [i]}, dev[i], 512)
    for i in idx128:
        add(f"dev{i}@128", {"dev_lines": [i]}, dev[i], 128)
    for k, lines in enumerate(longs):
        text = "".join(dev[i] for i in lines)
        for ml in (512, 128):
            add(f"long{k}@{ml}", {"dev_lines": lines}, text, ml)
    return recs


def make_batches(model, recs: list[dict], rng: random.Random, count: int) -> list[dict]:
    """Mixed-length batches of 8 (3..200 tokens), run padded with an attention mask as HF users do."""
    pool = [r for r in recs if 3 <= len(r["input_ids"]) <= 200]
    pool.sort(key=lambda r: len(r["input_ids"]))
    batches = []
    for b in range(count):
        # one from each eighth of the length distribution, shuffled: lengths always mixed
        k = len(pool) // 8
        members = [pool[j * k + rng.randrange(k)] for j in range(8)]
        rng.shuffle(members)
        logits = run_padded(model, [m["input_ids"] for m in members])
        worst = max(abs(a - c) for m, row in zip(members, logits) for a, c in zip(m["logits"], row))
        batches.append({"id": f"batch{b}", "members": [m["id"] for m in members],
                        "lengths": [len(m["input_ids"]) for m in members], "logits": logits,
                        "max_abs_diff_vs_single": worst})
    return batches


def dump_golden(path: Path, head: dict, recs: list[dict], batches: list[dict]) -> None:
    """Pretty at the top level, one record per line: small diffs, easy to read."""
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    lines.append('  "records": [')
    lines.append(",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in recs))
    lines.append("  ],")
    lines.append('  "batches": [')
    lines.append(",\n".join("    " + json.dumps(b, ensure_ascii=False) for b in batches))
    lines.append("  ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def weight_samples(cfg: dict, seed: int, rng: random.Random) -> list[dict]:
    out = []
    for name, shape in specs_for(cfg):
        numel = int(np.prod(shape))
        idx = sorted({0, 1, numel // 2, numel - 1, *(rng.randrange(numel) for _ in range(4))})
        vals = np.concatenate([sw.synthetic_values(name, seed, i, i + 1) for i in idx])
        out.append({"name": name, "shape": list(shape), "indices": idx,
                    "bits": [int(b) for b in vals.view(np.uint32)], "values": [float(v) for v in vals]})
    return out


# ----------------------------------------------------------------------------------------------

def main() -> None:
    global DEV, VOCAB
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-rbt3", action="store_true", help="only the tiny model (fast)")
    ap.add_argument("--dev", type=Path, default=DEV, help="dev split the inputs' dev_lines index (default: %(default)s)")
    ap.add_argument("--vocab", type=Path, default=VOCAB, help="bert-base-chinese vocab.txt (default: %(default)s)")
    args = ap.parse_args()
    DEV, VOCAB = args.dev, args.vocab
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    dev = load_dev()
    tok = Tok()
    golden_dir = REPO / "tests/data/goldens"
    golden_dir.mkdir(parents=True, exist_ok=True)
    synth = {"generator": "tools/synthetic_weights.py", "models": {}}

    plans = [("tiny", TINY, 2, REPO / "tests/data/models/tiny", 300, 40, 4, 4)]
    if not args.skip_rbt3:
        plans.append(("rbt3", RBT3, 1, REPO / "tools/work/rbt3-synthetic", 60, 12, 3, 3))

    for name, shape, seed, out_dir, n_dev, n_128, n_long, n_batches in plans:
        rng = random.Random(f"senti-goldens-{name}")
        cfg = full_config(shape)
        print(f"[{name}] building model (seed {seed})", flush=True)
        model, state = build_model(cfg, seed)
        write_checkpoint(out_dir, cfg, state, model)
        st_path = out_dir / "model.safetensors"
        synth["models"][name] = {
            "config": cfg, "seed": seed, "labels": LABELS,
            "safetensors_sha256": sha256_file(st_path), "safetensors_size": st_path.stat().st_size,
            "samples": weight_samples(cfg, seed, rng),
        }

        # dev lines: the 8 longest (exercise truncation at 512) + a random sample
        by_len = sorted(range(len(dev)), key=lambda i: -len(dev[i]))
        longest = by_len[:8]
        rest = [i for i in range(len(dev)) if i not in set(longest)]
        dev_idx = sorted(longest + rng.sample(rest, n_dev - len(longest)))
        idx128 = sorted(by_len[8:8 + n_128 // 2] + rng.sample(dev_idx, n_128 - n_128 // 2))
        longs = long_sources(dev, tok, rng, n_long, 600)
        print(f"[{name}] {len(dev_idx)} dev + {len(idx128)}@128 + {len(longs)} long + {len(HAND_TEXTS)} hand inputs",
              flush=True)
        recs = make_records(dev, tok, model, dev_idx, idx128, longs)
        batches = make_batches(model, recs, rng, n_batches)
        check_reload(out_dir, model, [r["input_ids"] for r in recs[:12]])

        head = {
            "model": name, "seed": seed,
            "checkpoint": str(out_dir.relative_to(REPO)),
            "dev_file": "data/sentiment/dev.jsonl; dev_lines are 0-based, joined with \"\"",
            "reference": f"transformers {__import__('transformers').__version__} BertForSequenceClassification, "
                         f"torch {torch.__version__}, fp32, eager attention; logits of each input alone "
                         "(batch 1, no padding); batches: padded with attention_mask",
            "labels": LABELS,
        }
        dump_golden(golden_dir / f"{name}_logits.json", head, recs, batches)
        worst = max(b["max_abs_diff_vs_single"] for b in batches)
        print(f"[{name}] {len(recs)} records, {len(batches)} batches (padded vs single: max |diff| {worst:.3g})",
              flush=True)

    if args.skip_rbt3:
        old = golden_dir / "synthetic_weights.json"
        if old.exists():
            prev = json.loads(old.read_text(encoding="utf-8"))
            if "rbt3" in prev.get("models", {}):
                synth["models"]["rbt3"] = prev["models"]["rbt3"]
    (golden_dir / "synthetic_weights.json").write_text(json.dumps(synth, indent=1) + "\n", encoding="utf-8")
    if tok.mismatches:
        print(f"warning: {tok.mismatches} inputs tokenized differently by the fast tokenizer", file=sys.stderr)
    print("done")


if __name__ == "__main__":
    main()
