#!/usr/bin/env python3
"""Give a trained BERT model folder a larger vocabulary (a superset of its own), keeping what it computes.

The default model was trained on one domain with a vocabulary of the pieces that domain uses (7,303);
every other piece became [UNK]. Before fine-tuning it on more domains, its vocabulary is replaced by the
one rebuilt from all the text (prep_pretrain.py, 12,215 pieces, still a subset of bert-base-chinese in the
original order, so tokenizers stay exact): old pieces keep their trained embedding rows, and each new
piece starts as a copy of the [UNK] row, so the extended model still gives exactly the old logits for
every text (a new piece used to be [UNK]); fine-tuning then tells them apart.

  python tools/train/extend_vocab.py --model models/senti-zh-sentiment --vocab tools/work/pre/vocab.txt \
      --out tools/work/default_ext
"""
import argparse, os, shutil
import torch
from transformers import BertForSequenceClassification


def read_vocab(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="BertForSequenceClassification folder with vocab.txt")
    ap.add_argument("--vocab", required=True, help="the new vocab.txt: every piece of the old one and more")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    old, new = read_vocab(os.path.join(a.model, "vocab.txt")), read_vocab(a.vocab)
    index = {p: i for i, p in enumerate(old)}
    new_pieces = set(new)
    missing = [p for p in old if p not in new_pieces]
    if missing:
        raise SystemExit(f"the new vocabulary lacks {len(missing)} pieces of the old one, e.g. {missing[:5]}")
    model = BertForSequenceClassification.from_pretrained(a.model)
    emb = model.bert.embeddings.word_embeddings.weight.data
    unk = index["[UNK]"]
    rows = torch.tensor([index.get(p, unk) for p in new])
    model.resize_token_embeddings(len(new))
    model.bert.embeddings.word_embeddings.weight.data.copy_(emb[rows])
    model.config.vocab_size = len(new)
    os.makedirs(a.out, exist_ok=True)
    model.save_pretrained(a.out, safe_serialization=True)
    shutil.copy(a.vocab, os.path.join(a.out, "vocab.txt"))
    for extra in ("tokenizer_config.json",):
        if os.path.exists(os.path.join(a.model, extra)):
            shutil.copy(os.path.join(a.model, extra), os.path.join(a.out, extra))
    print(f"{len(old)} -> {len(new)} pieces ({len(new) - len(old)} new, starting as [UNK]) -> {a.out}")


if __name__ == "__main__":
    main()
