#!/usr/bin/env python3
"""Build a trimmed WordPiece vocab from bert-base-chinese for the sentiment corpus.

1. Tokenize every train text with the FULL vocab (BertTokenizer, do_lower_case=True).
2. Keep the special tokens + every token that was produced, in original relative order.
3. Re-tokenize with the trimmed vocab and verify identical token sequences
   (a token may only differ by becoming [UNK]; with train-derived vocab this cannot happen on train).
4. Pre-tokenize train/dev/test (max_length 128) into tools/work/tok.pt for training.
"""
import argparse, difflib, json, os, time
import torch
from transformers import BertTokenizer

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

def load(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True,
                    help="the training split (train.jsonl of the sentiment data set, see data/README.md)")
    ap.add_argument("--dev", default="data/sentiment/dev.jsonl")
    ap.add_argument("--test", default="data/sentiment/test.jsonl")
    ap.add_argument("--full-vocab", default="data/vocab/bert-base-chinese-vocab.txt")
    ap.add_argument("--out-vocab", default="tools/work/vocab.txt")
    ap.add_argument("--out-tok", default="tools/work/tok.pt")
    ap.add_argument("--max-len", type=int, default=128)
    a = ap.parse_args()
    t0 = time.time()
    full = BertTokenizer(a.full_vocab, do_lower_case=True)
    splits = {"train": load(a.train), "dev": load(a.dev), "test": load(a.test)}
    full_toks = {s: [full.tokenize(r["text"]) for r in rows] for s, rows in splits.items()}
    used = set(t for toks in full_toks["train"] for t in toks)
    with open(a.full_vocab, encoding="utf-8") as f:
        full_list = [l.rstrip("\n") for l in f]
    assert full_list[0] == "[PAD]"
    keep = [t for t in full_list if t in SPECIAL or t in used]
    assert keep[0] == "[PAD]" and all(s in keep for s in SPECIAL)
    os.makedirs(os.path.dirname(a.out_vocab), exist_ok=True)
    with open(a.out_vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(keep) + "\n")
    print(f"full vocab {len(full_list)} -> trimmed {len(keep)} ({time.time()-t0:.1f}s)")
    trim = BertTokenizer(a.out_vocab, do_lower_case=True)
    out = {"vocab_size": len(keep)}
    for s, rows in splits.items():
        n_diff = n_unk_new = n_reseg = n_tok = 0
        reseg_ex = []
        ids_all = []
        for r, ft in zip(rows, full_toks[s]):
            tt = trim.tokenize(r["text"])
            n_tok += len(tt)
            if tt != ft:
                # Classify each differing span: a word that became [UNK] (expected), or a
                # Latin/digit word that greedy WordPiece re-segments into other (valid) pieces
                # because its original piece is absent from the trimmed vocab.
                n_diff += 1
                for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=ft, b=tt, autojunk=False).get_opcodes():
                    if op == "equal":
                        continue
                    if all(t == "[UNK]" for t in tt[j1:j2]):
                        n_unk_new += 1
                    else:
                        n_reseg += 1
                        if len(reseg_ex) < 5:
                            reseg_ex.append((ft[i1:i2], tt[j1:j2]))
            enc = trim(r["text"], truncation=True, max_length=a.max_len)["input_ids"]
            ids_all.append(enc)
        if s == "train":
            assert n_diff == 0, "train tokenization must be identical"
        print(f"{s}: {len(rows)} texts, {n_tok} tokens, {n_diff} texts differ: "
              f"{n_unk_new} spans became [UNK], {n_reseg} spans re-segmented (non-CJK words), e.g. {reseg_ex}")
        out[s] = {"ids": ids_all, "labels": [int(r["label"]) for r in rows]}
    torch.save(out, a.out_tok)
    print(f"saved {a.out_tok} in {time.time()-t0:.1f}s")

if __name__ == "__main__":
    main()
