#!/usr/bin/env python3
"""Texts/s from Python: senti.Classifier vs the transformers text-classification pipeline vs ONNX Runtime,
on the same model folder, the same texts and the same thread counts. Each (contender, threads) pair runs
in its own process (so thread pools never mix); every process times the whole list of texts end to end
(tokenization included), as a user's script would see it.

    python bench/python_api.py [--data data/sentiment/test.jsonl] [--texts 500] [--threads 1 2] [--runs 3]

Needs one Python environment with senti (`pip install .`), torch, transformers and onnxruntime
(scripts/setup-python's .venv plus `.venv/bin/pip install .`). Contenders:
  senti            senti.Classifier.load(model, threads=N)(texts)   (precision auto: what the CPU runs best)
  senti-fp32       the same with precision="fp32"
  transformers     pipeline("text-classification", model, top_k=None)(texts, batch_size=32, truncation=True)
  ort-fp32         bench/peers.py's export (torch.onnx.export + ORT BERT fusions), fast tokenizer, batches of 32
  ort-int8         the same graph through ORT dynamic int8 quantisation
Agreement is each contender's argmax label against the transformers pipeline's, text by text.
Writes a Markdown table to stdout and everything to --out (JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONTENDERS = ["senti", "senti-fp32", "transformers", "ort-fp32", "ort-int8"]
HF_BATCH = 32


def read_texts(path: Path, limit: int) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                texts.append(json.loads(line)["text"])
            if len(texts) >= limit > 0:
                break
    return texts


def timed_runs(classify, texts: list[str], runs: int) -> tuple[list[float], list[str]]:
    classify(texts[:HF_BATCH])  # warm-up: first-call allocations, kernel selection
    seconds, labels = [], []
    for _ in range(runs):
        start = time.perf_counter()
        labels = classify(texts)
        seconds.append(time.perf_counter() - start)
    return seconds, labels


def worker(name: str, threads: int, model: str, texts: list[str], runs: int, onnx_dir: Path) -> dict:
    info = ""
    if name.startswith("senti"):
        import senti

        clf = senti.Classifier.load(model, threads=threads, precision="fp32" if name == "senti-fp32" else "auto")
        info = f"senti {senti.__version__}, {clf.backend}"

        def classify(batch):
            return [p["label"] for p in clf(batch)]
    elif name == "transformers":
        import torch
        import transformers

        torch.set_num_threads(threads)
        pipe = transformers.pipeline("text-classification", model=model, device=-1, top_k=None)
        info = f"transformers {transformers.__version__}, torch {torch.__version__}, fp32 eager"

        def classify(batch):
            out = pipe(batch, batch_size=HF_BATCH, truncation=True, max_length=512)
            return [max(scores, key=lambda s: s["score"])["label"] for scores in out]
    else:
        import numpy as np
        import onnxruntime as ort
        from transformers import AutoConfig, AutoTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        graph = onnx_dir / ("model-opt-int8.onnx" if name == "ort-int8" else "model-opt.onnx")
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        inputs = {i.name for i in session.get_inputs()}
        tokenizer = AutoTokenizer.from_pretrained(model)
        id2label = AutoConfig.from_pretrained(model).id2label
        info = f"onnxruntime {ort.__version__}, {graph.name}, {type(tokenizer).__name__}"

        def classify(batch):
            labels = []
            for i in range(0, len(batch), HF_BATCH):
                enc = tokenizer(batch[i : i + HF_BATCH], padding=True, truncation=True, max_length=512, return_tensors="np")
                feed = {k: v.astype(np.int64) for k, v in enc.items() if k in inputs}
                logits = session.run(None, feed)[0]
                labels += [id2label[int(j)] for j in logits.argmax(axis=1)]
            return labels

    seconds, labels = timed_runs(classify, texts, runs)
    return {"contender": name, "threads": threads, "seconds": seconds, "labels": labels, "info": info,
            "texts_per_s": len(texts) / statistics.median(seconds)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(REPO / "data" / "sentiment" / "test.jsonl"), help="JSONL with a text field")
    p.add_argument("--texts", type=int, default=500, help="first N texts (0: all)")
    p.add_argument("--model", default=str(REPO / "models" / "senti-zh-sentiment"))
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--runs", type=int, default=3, help="timed passes over the texts; the median counts")
    p.add_argument("--only", default=",".join(CONTENDERS), help="comma-separated contenders")
    p.add_argument("--work", default=str(HERE / ".work" / "python_api"), help="ONNX exports are cached here")
    p.add_argument("--out", default=None, help="results JSON (default: bench/results/python_api/<UTC>.json)")
    p.add_argument("--worker", nargs=2, metavar=("NAME", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args()

    texts = read_texts(Path(args.data), args.texts)
    onnx_dir = Path(args.work) / Path(args.model).name
    if args.worker:
        result = worker(args.worker[0], int(args.worker[1]), args.model, texts, args.runs, onnx_dir)
        print(json.dumps(result, ensure_ascii=False))
        return 0

    chosen = [c for c in args.only.split(",") if c]
    if any(c.startswith("ort") for c in chosen) and not (onnx_dir / "model-opt-int8.onnx").is_file():
        sys.path.insert(0, str(HERE))
        import peers

        peers.cmd_prepare_onnx(argparse.Namespace(model=args.model, out_dir=str(onnx_dir)))

    results = []
    for threads in args.threads:
        for name in chosen:
            cmd = [sys.executable, __file__, "--worker", name, str(threads), "--data", args.data, "--texts",
                   str(args.texts), "--model", args.model, "--runs", str(args.runs), "--work", args.work]
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode != 0:
                print(f"{name} threads={threads} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                results.append({"contender": name, "threads": threads, "error": done.stderr[-2000:]})
                continue
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = results[-1]
            print(f"{name:13s} threads={threads}: {r['texts_per_s']:8.1f} texts/s", file=sys.stderr)

    reference = {r["threads"]: r["labels"] for r in results if r.get("contender") == "transformers" and "labels" in r}
    print(f"\n{len(texts)} texts from {os.path.relpath(args.data, REPO)}, model {os.path.relpath(args.model, REPO)}, "
          f"median of {args.runs} runs\n")
    print("| contender | threads | texts/s | vs transformers | label agreement | engine |")
    print("|---|---:|---:|---:|---:|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['contender']} | {r['threads']} | failed | | | {r['error'].splitlines()[-1]} |")
            continue
        base = next((b for b in results if b.get("contender") == "transformers" and b["threads"] == r["threads"]
                     and "texts_per_s" in b), None)
        ratio = f"{r['texts_per_s'] / base['texts_per_s']:.1f}x" if base else ""
        ref = reference.get(r["threads"])
        agree = f"{sum(a == b for a, b in zip(r['labels'], ref)) / len(ref):.1%}" if ref else ""
        print(f"| {r['contender']} | {r['threads']} | {r['texts_per_s']:.1f} | {ratio} | {agree} | {r['info']} |")

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d_%H%M%SZ")
    out = Path(args.out) if args.out else HERE / "results" / "python_api" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(sys.argv), "texts": len(texts), "data": os.path.relpath(args.data, REPO),
            "model": os.path.relpath(args.model, REPO),
            "runs": args.runs, "python": platform.python_version(), "machine": platform.processor() or platform.machine()}
    try:
        meta["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out.write_text(json.dumps({"meta": meta, "results": results}, ensure_ascii=False, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
