#!/usr/bin/env python3
"""Export the best dev checkpoint to models/senti-zh-sentiment/ and run the final checks:
load via from_pretrained, five seed sentences, and the single test-set evaluation."""
import argparse, json, os, shutil, time
import numpy as np
import torch
from transformers import BertForSequenceClassification, BertTokenizer

SEEDS = [("这件衣服的质量真的太棒了，非常满意！", 1), ("物流速度太慢了，等了半个多月，差评。", 0),
         ("卖家服务态度很好，耐心解答我的问题。", 1), ("收到货后发现有破损，体验极差。", 0),
         ("性价比很高，值得推荐购买。", 1)]

def metrics(p, y):
    p, y = np.array(p), np.array(y)
    f1 = []
    for c in (0, 1):
        tp = ((p == c) & (y == c)).sum(); fp = ((p == c) & (y != c)).sum(); fn = ((p != c) & (y == c)).sum()
        f1.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float((p == y).mean()), float(np.mean(f1))

@torch.no_grad()
def predict(model, tok, texts, max_len, bs=64):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = [None] * len(texts)
    for c in range(0, len(order), bs):
        b = order[c:c + bs]
        enc = tok([texts[i] for i in b], truncation=True, max_length=max_len, padding=True, return_tensors="pt")
        lg = model(**enc).logits
        for i, p in zip(b, lg.argmax(-1).tolist()): out[i] = p
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--vocab", default="tools/work/vocab.txt")
    ap.add_argument("--out", default="models/senti-zh-sentiment")
    ap.add_argument("--serve-max-len", type=int, default=512)
    ap.add_argument("--data", default="data/sentiment", help="folder with dev.jsonl and test.jsonl")
    ap.add_argument("--test", type=int, default=0, help="run the (single) final test evaluation")
    ap.add_argument("--eval", type=int, default=1, help="0: skip the dev/test evaluation (quick export)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    m = BertForSequenceClassification.from_pretrained(a.ckpt, torch_dtype=torch.float32)
    m.config.id2label = {0: "negative", 1: "positive"}
    m.config.label2id = {"negative": 0, "positive": 1}
    m.config.senti_label_display = {"0": "负面", "1": "正面"}
    m.config.problem_type = "single_label_classification"
    m.float().save_pretrained(a.out, safe_serialization=True)
    os.chmod(os.path.join(a.out, "model.safetensors"), 0o644)  # safetensors writes 0600
    shutil.copy(a.vocab, os.path.join(a.out, "vocab.txt"))
    tk = {"tokenizer_class": "BertTokenizer", "do_lower_case": True, "do_basic_tokenize": True,
          "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": a.serve_max_len,
          "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
          "mask_token": "[MASK]", "clean_up_tokenization_spaces": True}
    json.dump(tk, open(os.path.join(a.out, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=2)
    # ---- reload exactly like a consumer would ----
    model = BertForSequenceClassification.from_pretrained(a.out).eval()
    tok = BertTokenizer.from_pretrained(a.out)
    cfg = json.load(open(os.path.join(a.out, "config.json")))
    print("config id2label", cfg["id2label"], "label2id", cfg["label2id"], "display", cfg["senti_label_display"])
    print("dtype", next(model.parameters()).dtype, "params", sum(p.numel() for p in model.parameters()))
    print("tokenizer", type(tok).__name__, "vocab", tok.vocab_size, "lower", tok.do_lower_case if hasattr(tok, "do_lower_case") else "?", "max_len", tok.model_max_length)
    print("files", {f: os.path.getsize(os.path.join(a.out, f)) for f in sorted(os.listdir(a.out))})
    # special ids
    print("special ids", {t: tok.convert_tokens_to_ids(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]})
    texts = [s for s, _ in SEEDS]
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        prob = model(**enc).logits.softmax(-1)
    ok = 0
    for (s, y), pr in zip(SEEDS, prob):
        p = int(pr.argmax())
        ok += p == y
        print(f"seed: {s} -> {model.config.id2label[p]} ({cfg['senti_label_display'][str(p)]}) p_pos={pr[1]:.4f} expected={model.config.id2label[y]} {'OK' if p == y else 'WRONG'}")
    print(f"seed sentences correct: {ok}/5")
    if not a.eval:
        return
    rows = {s: [json.loads(l) for l in open(os.path.join(a.data, s + ".jsonl"), encoding="utf-8")] for s in ["dev", "test"]}
    splits = ["dev", "test"] if a.test else ["dev"]
    res = {}
    for s in splits:
        X = [r["text"] for r in rows[s]]; Y = [r["label"] for r in rows[s]]
        for L in (128, a.serve_max_len):
            t0 = time.time()
            acc, f1 = metrics(predict(model, tok, X, L), Y)
            res[f"{s}_len{L}"] = {"acc": acc, "macro_f1": f1}
            print(f"{s} (fp32, max_length {L}): acc {acc:.4f} macroF1 {f1:.4f} ({time.time()-t0:.0f}s)")
    json.dump(res, open(os.path.join(os.path.dirname(a.ckpt.rstrip('/')), "export_eval.json"), "w"), indent=1)

if __name__ == "__main__":
    main()
