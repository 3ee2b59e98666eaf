#!/usr/bin/env python3
"""Pre-training data: a vocabulary rebuilt from all the text, and packed, whole-word-marked sequences.

1. Tokenize every text (unlabelled corpora + the texts of every labelled TRAIN file, labels ignored; dev and
   test texts are never read) with the full bert-base-chinese WordPiece vocab (lower-cased, like
   BertTokenizer(do_lower_case=True)).
2. Vocabulary = [PAD] [UNK] [CLS] [SEP] [MASK] + every piece the text produced at least --min-count times, in
   the original order. A subset of bert-base-chinese: greedy longest-match WordPiece with a subset vocab
   yields the same pieces whenever every piece it produced with the full vocab is kept, so HF tokenizers
   and senti's C++ tokenizer stay exact (pieces below --min-count become [UNK]/re-segment, which is the
   same in both). Checked below on a sample.
3. Shuffle the texts (all sources mixed, so any prefix of training is a representative mix), segment each
   with jieba (whole-word masking: a token starts a word or continues one), and pack them into sequences
   [CLS] a [SEP] b [SEP] ... of at most --seq-len tokens. The last --dev-seqs sequences are the dev set.

Output (--out): vocab.txt and packed.pt {ids: uint16/int32 [N, L], word_start: bool [N, L], n_dev, ...}.

  python tools/train/prep_pretrain.py --full-vocab VOCAB.txt --text DIR/corpora/unlabelled/*.jsonl.gz \
      --text DIR/sentiment/train.jsonl --text DIR/corpora/labelled/*.train.jsonl --out tools/work/pre
"""
import argparse, gzip, json, os, random, time
from collections import Counter
import numpy as np
import torch

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def read_texts(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                t = json.loads(line)["text"]
                if t and t.strip():
                    yield t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full-vocab", required=True, help="bert-base-chinese vocab.txt")
    ap.add_argument("--text", nargs="+", action="extend", required=True, help="JSONL(.gz) files with a 'text' field")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--max-chars", type=float, default=0, help="pack only the first N characters of shuffled text (0: all)")
    ap.add_argument("--dev-seqs", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1126)
    a = ap.parse_args()
    from transformers import BertTokenizer  # tokenizers-backed (fast) in transformers 5
    import jieba
    jieba.setLogLevel(60)
    t0 = time.time()
    texts = []
    for p in a.text:
        n0 = len(texts)
        texts.extend(read_texts(p))
        print(f"{p}: {len(texts) - n0} texts", flush=True)
    print(f"{len(texts)} texts, {sum(map(len, texts)) / 1e6:.1f} M characters ({time.time() - t0:.0f}s)", flush=True)
    full = BertTokenizer(a.full_vocab, do_lower_case=True)
    full_list = [l.rstrip("\n") for l in open(a.full_vocab, encoding="utf-8")]
    counts = Counter()
    enc_ids = []
    B = 20000
    for i in range(0, len(texts), B):
        enc = full(texts[i:i + B], add_special_tokens=False, return_offsets_mapping=True)
        for ids, offs in zip(enc["input_ids"], enc["offset_mapping"]):
            counts.update(ids)
            enc_ids.append((np.array(ids, dtype=np.int32), np.array([o[0] for o in offs], dtype=np.int32)))
    print(f"tokenized: {sum(counts.values()) / 1e6:.1f} M tokens, {len(counts)} distinct pieces ({time.time() - t0:.0f}s)", flush=True)
    keep = [i for i, t in enumerate(full_list) if t in SPECIAL or counts.get(i, 0) >= a.min_count]
    os.makedirs(a.out, exist_ok=True)
    vocab_path = os.path.join(a.out, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(full_list[i] for i in keep) + "\n")
    remap = np.full(len(full_list), 1, dtype=np.int32)  # dropped pieces -> [UNK] (only with --min-count > 1)
    remap[keep] = np.arange(len(keep), dtype=np.int32)
    print(f"vocab {len(full_list)} -> {len(keep)} pieces", flush=True)
    # exactness check on a sample: the trimmed vocab tokenizes like the full one
    trim = BertTokenizer(vocab_path, do_lower_case=True)
    rng = random.Random(a.seed)
    sample = rng.sample(range(len(texts)), min(20000, len(texts)))
    same = sum(trim.convert_ids_to_tokens(trim(texts[i], add_special_tokens=False)["input_ids"]) ==
               full.convert_ids_to_tokens(enc_ids[i][0].tolist()) for i in sample)
    print(f"trimmed vocab tokenizes {same}/{len(sample)} sampled texts exactly like the full vocab", flush=True)
    if a.min_count == 1:
        assert same == len(sample)
    order = list(range(len(texts)))
    rng.shuffle(order)
    L = a.seq_len
    cls, sep = keep.index(full_list.index("[CLS]")), keep.index(full_list.index("[SEP]"))
    seqs, starts = [], []
    cur, cur_ws = [cls], [False]
    n_chars = 0
    for i in order:
        t = texts[i]
        n_chars += len(t)
        if a.max_chars and n_chars > a.max_chars:
            break
        ids, offs = enc_ids[i]
        if len(ids) == 0:
            continue
        bounds, pos = set(), 0
        for w in jieba.cut(t, HMM=False):
            bounds.add(pos); pos += len(w)
        ids = remap[ids]
        ws = [int(o) in bounds for o in offs]
        for c in range(0, len(ids), L - 2):
            piece, pws = ids[c:c + L - 2].tolist(), ws[c:c + L - 2]
            pws[0] = True
            if len(cur) + len(piece) + 1 > L:
                seqs.append(cur); starts.append(cur_ws)
                cur, cur_ws = [cls], [False]
            cur += piece + [sep]; cur_ws += pws + [False]
        if len(seqs) % 20000 == 0 and len(seqs):
            pass
    if len(cur) > 1:
        seqs.append(cur); starts.append(cur_ws)
    N = len(seqs)
    ids = np.zeros((N, L), dtype=np.int32)
    wst = np.zeros((N, L), dtype=bool)
    for r, (s, w) in enumerate(zip(seqs, starts)):
        ids[r, :len(s)] = s; wst[r, :len(w)] = w
    ntok = int((ids != 0).sum())
    torch.save({"ids": torch.from_numpy(ids), "word_start": torch.from_numpy(wst), "n_dev": a.dev_seqs,
                "vocab_size": len(keep), "seq_len": L, "tokens": ntok, "chars_packed": n_chars},
               os.path.join(a.out, "packed.pt"))
    print(f"packed {N} sequences of <= {L} tokens ({ntok / 1e6:.1f} M tokens, {ntok / N:.0f} per sequence); "
          f"last {a.dev_seqs} are dev ({time.time() - t0:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
