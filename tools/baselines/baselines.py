#!/usr/bin/env python3
"""Linear baselines for Chinese sentiment: the bar senti's model must beat.

  char: TF-IDF over character 1-3-grams + LogisticRegression
  word: TF-IDF over jieba word 1-2-grams + LinearSVC

Trained on the chosen training files, C tuned on the matching dev files (mean accuracy over the dev
splits), then evaluated on EVERY test split given (accuracy and macro-F1 per split, and their macro-average).

  python tools/baselines/baselines.py --sentiment DIR/sentiment --labelled DIR/corpora/labelled \
      --setting sentiment --setting all --setting all+degraded --out tools/baselines/results.json
"""
import argparse, glob, json, os, sys, time
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.metrics import accuracy_score, f1_score

DEGRADED = "dianping_meituan_degraded"


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(l) for l in f if l.strip()]
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def splits(sentiment_dir, labelled_dir, kind):
    """{name: path} of one kind (train/dev/test): 'sentiment' plus every labelled source."""
    out = {"sentiment": os.path.join(sentiment_dir, f"{kind}.jsonl")}
    for p in sorted(glob.glob(os.path.join(labelled_dir, f"*.{kind}.jsonl"))):
        out[os.path.basename(p)[: -len(f".{kind}.jsonl")]] = p
    return out


def sources_for(setting, names):
    if setting == "sentiment":
        return ["sentiment"]
    if setting == "all":
        return [n for n in names if n != DEGRADED]
    if setting == "all+degraded":
        return list(names)
    raise SystemExit(f"unknown setting {setting}")


_jieba_cache = {}


def jieba_words(texts):
    import jieba
    jieba.setLogLevel(60)
    out = []
    for t in texts:
        w = _jieba_cache.get(t)
        if w is None:
            w = " ".join(x for x in jieba.lcut(t.lower()) if x.strip())
            _jieba_cache[t] = w
        out.append(w)
    return out


def make(kind, C):
    if kind == "char":
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True, lowercase=True)
        clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear")
    else:
        vec = TfidfVectorizer(analyzer="word", token_pattern=r"(?u)\S+", ngram_range=(1, 2), min_df=2,
                              sublinear_tf=True, lowercase=False)
        clf = LinearSVC(C=C)
    return vec, clf


def metrics(y, p):
    return {"acc": float(accuracy_score(y, p)), "macro_f1": float(f1_score(y, p, average="macro")), "n": int(len(y))}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentiment", required=True, help="folder with train/dev/test.jsonl")
    ap.add_argument("--labelled", required=True, help="folder with SOURCE.{train,dev,test}.jsonl")
    ap.add_argument("--setting", action="append", default=[],
                    help="training data: sentiment | all (sentiment + labelled, no degraded) | all+degraded")
    ap.add_argument("--model", action="append", default=[], help="char | word (default both)")
    ap.add_argument("--extra-test", action="append", default=[], help="NAME=PATH more JSONL to evaluate (e.g. a challenge set)")
    ap.add_argument("--C", type=float, default=0, help="use this C instead of tuning it on dev (e.g. to rerun a tuned model)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    settings = a.setting or ["sentiment", "all"]
    models = a.model or ["char", "word"]
    grid = {"char": [1.0, 4.0, 16.0], "word": [0.1, 0.3, 1.0]}
    tr, dv, te = (splits(a.sentiment, a.labelled, k) for k in ("train", "dev", "test"))
    data = {k: {n: read_jsonl(p) for n, p in d.items()} for k, d in (("train", tr), ("dev", dv), ("test", te))}
    for spec in a.extra_test:
        name, path = spec.split("=", 1)
        data["test"][name] = read_jsonl(path)
    results = json.load(open(a.out)) if os.path.exists(a.out) else {}
    for setting in settings:
        srcs = sources_for(setting, list(tr))
        Xtr = [t for s in srcs for t in data["train"][s][0]]
        ytr = np.concatenate([data["train"][s][1] for s in srcs])
        for kind in models:
            t0 = time.time()
            prep = jieba_words if kind == "word" else (lambda x: x)
            Xp = prep(Xtr)
            best = None
            for C in ([a.C] if a.C else grid[kind]):
                vec, clf = make(kind, C)
                clf.fit(vec.fit_transform(Xp), ytr)
                dev_acc = float(np.mean([accuracy_score(data["dev"][s][1], clf.predict(vec.transform(prep(data["dev"][s][0]))))
                                         for s in srcs]))
                print(f"[{setting}/{kind}] C={C} mean dev acc over {len(srcs)} sources {dev_acc:.4f}", flush=True)
                if best is None or dev_acc > best[0]:
                    best = (dev_acc, C, vec, clf)
            dev_acc, C, vec, clf = best
            res = {"C": C, "mean_dev_acc": dev_acc, "train_sources": srcs, "n_train": int(len(ytr)), "test": {}}
            for name, (X, y) in data["test"].items():
                res["test"][name] = metrics(y, clf.predict(vec.transform(prep(X))))
            core = [n for n in te if n != DEGRADED]
            res["macro_avg_acc"] = float(np.mean([res["test"][n]["acc"] for n in core]))
            res["macro_avg_f1"] = float(np.mean([res["test"][n]["macro_f1"] for n in core]))
            res["macro_avg_acc_with_degraded"] = float(np.mean([res["test"][n]["acc"] for n in te]))
            res["seconds"] = round(time.time() - t0, 1)
            results[f"{setting}/{kind}"] = res
            print(f"== {setting}/{kind} (C={C}, {res['seconds']} s)", flush=True)
            for name, m in res["test"].items():
                print(f"   {name:32s} acc {m['acc']:.4f}  macro-F1 {m['macro_f1']:.4f}  (n={m['n']})")
            print(f"   macro-average over {len(core)} test splits (without {DEGRADED}): acc {res['macro_avg_acc']:.4f} "
                  f"macro-F1 {res['macro_avg_f1']:.4f}; with it: acc {res['macro_avg_acc_with_degraded']:.4f}", flush=True)
            json.dump(results, open(a.out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
