#!/usr/bin/env python3
"""Goldens for the committed default model (models/senti-zh-sentiment): transformers' logits for the
hand-written inputs, ~50 dev texts (at max_length 512 and 128), long multi-line inputs that truncate,
and padded mixed-length batches. Same file format as tools/make_model_goldens.py (whose record/batch
builders it reuses), written to tests/data/goldens/senti_zh_sentiment_logits.json; checked by
tests/default_model/default_model_golden_test.cc.

  .venv/bin/python tools/train/make_default_goldens.py
"""
import json
import random
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import make_model_goldens as mg  # noqa: E402

MODEL = REPO / "models/senti-zh-sentiment"


class ModelTok:
    """mg.Tok's interface, with the model's own (trimmed) vocab."""

    def __init__(self, vocab: Path):
        from transformers.models.bert import BertTokenizer
        try:
            from transformers.models.bert import BertTokenizerLegacy as Slow
        except ImportError:
            Slow = BertTokenizer
        self.slow = Slow(vocab_file=str(vocab), do_lower_case=True)
        self.fast = BertTokenizer(str(vocab), do_lower_case=True)
        self.mismatches = 0

    def encode(self, text, max_length):
        ids = self.slow(text, truncation=True, max_length=max_length)["input_ids"]
        full = self.slow(text, truncation=False)["input_ids"] if len(ids) == max_length else ids
        f = self.fast(text, truncation=True, max_length=max_length)["input_ids"]
        if f != ids:
            self.mismatches += 1
            print(f"warning: slow/fast tokenizers differ on {text[:40]!r}", file=sys.stderr)
        return ids, len(full) > len(ids)


def main():
    from transformers import BertForSequenceClassification

    torch.set_num_threads(2)
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(MODEL, attn_implementation="eager").eval().float()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    dev = mg.load_dev()
    tok = ModelTok(MODEL / "vocab.txt")
    rng = random.Random("senti-goldens-default-model")
    by_len = sorted(range(len(dev)), key=lambda i: -len(dev[i]))
    longest = by_len[:4]
    rest = [i for i in range(len(dev)) if i not in set(longest)]
    dev_idx = sorted(longest + rng.sample(rest, 40))
    idx128 = sorted(by_len[4:8] + rng.sample(dev_idx, 6))
    longs = mg.long_sources(dev, tok, rng, 3, 600)
    recs = mg.make_records(dev, tok, model, dev_idx, idx128, longs)
    batches = mg.make_batches(model, recs, rng, 3)
    import transformers
    head = {
        "model": "senti-zh-sentiment",
        "checkpoint": "models/senti-zh-sentiment",
        "dev_file": "data/sentiment/dev.jsonl; dev_lines are 0-based, joined with \"\"",
        "reference": f"transformers {transformers.__version__} BertForSequenceClassification, torch {torch.__version__}, "
                     "fp32, eager attention; logits of each input alone (batch 1, no padding); batches: padded "
                     "with attention_mask",
        "labels": labels,
    }
    out = REPO / "tests/data/goldens/senti_zh_sentiment_logits.json"
    mg.dump_golden(out, head, recs, batches)
    worst = max(b["max_abs_diff_vs_single"] for b in batches)
    print(f"{out}: {len(recs)} records ({sum(r['truncated'] for r in recs)} truncated), {len(batches)} batches "
          f"(padded vs single: max |diff| {worst:.3g}); tokenizer mismatches {tok.mismatches}")


if __name__ == "__main__":
    main()
