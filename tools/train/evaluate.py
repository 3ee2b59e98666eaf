#!/usr/bin/env python3
"""Score a BertForSequenceClassification folder on many labelled JSONL splits; fit and store a temperature.

For each --test file: accuracy, macro-F1, and ECE (15 bins) of the raw softmax and of softmax(logits / T).
T is fitted on the --dev files (all texts pooled, minimising the negative log-likelihood) unless --temperature
is given; --write-temperature stores it as "senti_temperature" in the folder's config.json (senti applies it
to its scores). Results (and the macro-average over the test splits) go to --out as JSON.

  python tools/train/evaluate.py --model models/senti-zh-sentiment --dev DATA/sentiment/dev.jsonl \
      DATA/corpora/labelled/*.dev.jsonl --test DATA/sentiment/test.jsonl DATA/corpora/labelled/*.test.jsonl \
      data/challenge/challenge.jsonl --write-temperature --out results.json
"""
import argparse, json, os, sys, time
import numpy as np
import torch
from transformers import BertForSequenceClassification, BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import EXCLUDE_FROM_AVG, source_name, read_labelled, acc_f1, ece  # noqa: E402


@torch.no_grad()
def logits_of(model, tok, texts, max_len, bs=64):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float64)
    for c in range(0, len(order), bs):
        b = order[c:c + bs]
        enc = tok([texts[i] for i in b], truncation=True, max_length=max_len, padding=True, return_tensors="pt")
        out[b] = model(**enc).logits.double().numpy()
    return out


def fit_temperature(lg, y):
    z = torch.tensor(lg); t = torch.tensor(y)
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(z / log_t.exp(), t)
        loss.backward()
        return loss
    opt.step(closure)
    return float(log_t.detach().exp())


def prob_pos(lg, T=1.0):
    z = lg / T
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e[:, 1] / e.sum(1)


def load(path, n):
    X, y = read_labelled(path)
    if n and len(X) > n:
        idx = np.sort(np.random.RandomState(0).permutation(len(X))[:n])
        X, y = [X[i] for i in idx], y[idx]
    return X, y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--dev", nargs="*", default=[])
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--max-len", type=int, default=512, help="senti's default (the model's max positions)")
    ap.add_argument("--temperature", type=float, default=0, help="use this T instead of fitting one on --dev")
    ap.add_argument("--write-temperature", action="store_true")
    ap.add_argument("--max-per-split", type=int, default=0,
                    help="score a seeded random sample of at most N texts per file (0: all); say so when you report it")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    model = BertForSequenceClassification.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    tok = BertTokenizer.from_pretrained(a.model)
    res = {"model": a.model, "max_len": a.max_len, "max_per_split": a.max_per_split, "test": {}}
    T = a.temperature
    if not T:
        if not a.dev:
            raise SystemExit("give --dev files to fit the temperature on, or --temperature")
        lgs, ys, dev = [], [], {}
        for p in a.dev:
            X, y = load(p, a.max_per_split)
            lg = logits_of(model, tok, X, a.max_len)
            lgs.append(lg); ys.append(y)
            dev[source_name(p)] = acc_f1(lg.argmax(1), y)[0]
        lg, y = np.concatenate(lgs), np.concatenate(ys)
        T = fit_temperature(lg, y)
        res["dev_acc"] = dev
        res["dev_mean_acc"] = float(np.mean([v for k, v in dev.items() if k not in EXCLUDE_FROM_AVG]))
        res["dev_ece_raw"] = ece(prob_pos(lg), y); res["dev_ece_calibrated"] = ece(prob_pos(lg, T), y)
        print(f"dev: mean acc {res['dev_mean_acc']:.4f}; temperature {T:.4f} (pooled dev ECE {res['dev_ece_raw']:.4f} -> "
              f"{res['dev_ece_calibrated']:.4f})", flush=True)
    res["temperature"] = T
    for p in a.test:
        X, y = load(p, a.max_per_split)
        lg = logits_of(model, tok, X, a.max_len)
        acc, f1 = acc_f1(lg.argmax(1), y)
        r = {"n": len(y), "acc": acc, "macro_f1": f1, "ece_raw": ece(prob_pos(lg), y), "ece_calibrated": ece(prob_pos(lg, T), y)}
        res["test"][source_name(p)] = r
        print(f"{source_name(p):32s} acc {acc:.4f} macro-F1 {f1:.4f} ECE {r['ece_raw']:.4f} -> {r['ece_calibrated']:.4f} (n={len(y)})", flush=True)
    core = [k for k in res["test"] if k not in EXCLUDE_FROM_AVG]
    if core:
        res["macro_avg_acc"] = float(np.mean([res["test"][k]["acc"] for k in core]))
        res["macro_avg_f1"] = float(np.mean([res["test"][k]["macro_f1"] for k in core]))
        res["macro_avg_ece_raw"] = float(np.mean([res["test"][k]["ece_raw"] for k in core]))
        res["macro_avg_ece_calibrated"] = float(np.mean([res["test"][k]["ece_calibrated"] for k in core]))
        res["macro_avg_over"] = core
        print(f"macro-average over {len(core)} splits: acc {res['macro_avg_acc']:.4f} macro-F1 {res['macro_avg_f1']:.4f} "
              f"ECE {res['macro_avg_ece_raw']:.4f} -> {res['macro_avg_ece_calibrated']:.4f}")
    if a.write_temperature:
        cp = os.path.join(a.model, "config.json")
        cfg = json.load(open(cp, encoding="utf-8"))
        cfg["senti_temperature"] = round(T, 4)
        json.dump(cfg, open(cp, "w", encoding="utf-8"), indent=2, ensure_ascii=False)
        print(f"wrote senti_temperature {T:.4f} to {cp}")
    res["seconds"] = round(time.time() - t0, 1)
    json.dump(res, open(a.out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
