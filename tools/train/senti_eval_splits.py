#!/usr/bin/env python3
"""Accuracy and macro-F1 of a model by senti itself (`senti eval --json`), per test split and precision.

The numbers the README's model table quotes: the C++ engine's, fp32 and int8, on every --test file,
with the macro-average over them (dianping_meituan_degraded and the challenge set reported apart).

  python tools/train/senti_eval_splits.py --senti build/senti --model models/senti-zh-sentiment \
      --test data/sentiment/test.jsonl DATA/corpora/labelled/*.test.jsonl data/challenge/challenge.jsonl \
      --out tools/work/senti_eval.json
"""
import argparse, json, os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import EXCLUDE_FROM_AVG, source_name  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--senti", default="build/senti")
    ap.add_argument("--model", required=True)
    ap.add_argument("--test", nargs="+", required=True)
    ap.add_argument("--precision", nargs="+", default=["fp32", "int8"])
    ap.add_argument("--threads", type=int, default=0, help="0: senti's default (all cores)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    res = {"model": a.model, "test": {}}
    for prec in a.precision:
        for path in a.test:
            cmd = [a.senti, "eval", "--model", a.model, "--data", path, "--precision", prec, "--json"]
            if a.threads:
                cmd += ["--threads", str(a.threads)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            name = source_name(path)
            res["test"].setdefault(name, {"n": r["examples"]})[prec] = {"acc": r["accuracy"], "macro_f1": r["macro_f1"]}
            print(f"{prec:5s} {name:32s} acc {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f} (n={r['examples']})", flush=True)
        core = [k for k in res["test"] if k not in EXCLUDE_FROM_AVG]
        if core:
            avg = {m: sum(res["test"][k][prec][m] for k in core) / len(core) for m in ("acc", "macro_f1")}
            res.setdefault("macro_avg", {})[prec] = dict(avg, over=len(core))
            print(f"{prec:5s} macro-average over {len(core)} splits: acc {avg['acc']:.4f} macro-F1 {avg['macro_f1']:.4f}")
    json.dump(res, open(a.out, "w"), indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
