#!/usr/bin/env python3
"""Soft targets for distillation: the char TF-IDF + LogisticRegression baseline as a teacher.

The teacher is the strongest simple model of tools/baselines (character 1-3-grams, LR, C=4; trained on all
labelled sources: macro-average 0.8806 over the 13 test splits). It writes P(positive) for

  * every labelled training text, CROSS-FITTED (--folds k: each text is scored by a teacher that did not see
    it), so the soft target carries the teacher's honest uncertainty rather than a memorised gold label;
  * unlabelled texts (--unlabelled, plain or .gz JSONL with "text"), scored by a teacher fitted on all the
    labelled data, at most --max-unlabelled of them (a random sample, seed 0), texts of --min-chars or more.

Output: JSONL lines {"text", "p", "src"} ("src" is the source name; "label" too for labelled texts), read by
finetune.py --soft. Dev and test files are never read.

  python tools/train/teacher_labels.py --train D/sentiment/train.jsonl D/corpora/labelled/*.train.jsonl \
      --unlabelled D/corpora/unlabelled/*.jsonl.gz --max-unlabelled 300000 --out tools/work/soft.jsonl
"""
import argparse, gzip, json, os, sys, time
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import source_name, read_labelled  # noqa: E402

DEGRADED = "dianping_meituan_degraded"


def fit(texts, labels, C):
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear")
    clf.fit(vec.fit_transform(texts), labels)
    return lambda xs: clf.predict_proba(vec.transform(xs))[:, 1]


def read_unlabelled(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="+", required=True, help="labelled train JSONL files (one source each)")
    ap.add_argument("--unlabelled", nargs="*", default=[])
    ap.add_argument("--max-unlabelled", type=int, default=300000)
    ap.add_argument("--min-chars", type=int, default=4)
    ap.add_argument("--folds", type=int, default=2)
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t0 = time.time()
    texts, labels, srcs = [], [], []
    for p in a.train:
        name = source_name(p)
        if name == DEGRADED:
            continue
        X, y = read_labelled(p)
        texts += X; labels += list(y); srcs += [name] * len(X)
    labels = np.array(labels)
    n = len(texts)
    print(f"{n} labelled texts from {len(set(srcs))} sources", flush=True)
    fold = np.random.RandomState(0).randint(0, a.folds, size=n)
    p = np.zeros(n)
    for k in range(a.folds):
        tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
        predict = fit([texts[i] for i in tr], labels[tr], a.C)
        p[te] = predict([texts[i] for i in te])
        acc = float(((p[te] >= 0.5) == labels[te]).mean())
        print(f"fold {k}: fitted on {len(tr)}, held-out accuracy {acc:.4f} [{time.time() - t0:.0f}s]", flush=True)
    with open(a.out, "w", encoding="utf-8") as f:
        for t, y, s, q in zip(texts, labels, srcs, p):
            f.write(json.dumps({"text": t, "label": int(y), "p": round(float(q), 4), "src": s}, ensure_ascii=False) + "\n")
        if a.unlabelled:
            pool = []
            for path in a.unlabelled:
                name = os.path.basename(path).split(".")[0]
                pool += [(t, name) for t in read_unlabelled(path) if len(t) >= a.min_chars]
            rng = np.random.RandomState(0)
            pick = rng.permutation(len(pool))[:a.max_unlabelled]
            predict = fit(texts, labels, a.C)
            chosen = [pool[i] for i in pick]
            q = predict([t for t, _ in chosen])
            for (t, s), v in zip(chosen, q):
                f.write(json.dumps({"text": t, "p": round(float(v), 4), "src": s}, ensure_ascii=False) + "\n")
            print(f"{len(chosen)} unlabelled texts of {len(pool)} scored; mean p {q.mean():.3f}, "
                  f"confident (p<0.1 or >0.9) {float(((q < 0.1) | (q > 0.9)).mean()):.3f}", flush=True)
    print(f"-> {a.out} [{time.time() - t0:.0f}s]", flush=True)


if __name__ == "__main__":
    main()
