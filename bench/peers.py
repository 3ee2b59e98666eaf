#!/usr/bin/env python3
"""The Python contenders of the benchmark, one engine per process (so thread pools never mix).

  peers.py prepare-onnx --model DIR --out-dir DIR     export to ONNX, ORT BERT fusions, int8 dynamic quantisation
  peers.py prepare-openvino --model DIR --onnx model.onnx --calibration texts.jsonl --out-dir DIR
                                                      OpenVINO IR of the raw export (fp32) and its NNCF int8 PTQ
  peers.py run --engine torch|ort|openvino ...        measure, same modes and JSON fields as `senti bench --json`

Measurement semantics match `senti bench` (src/cli/bench_command.cc) on purpose:
  latency:    one text per request (batch 1), tokenization included and also reported alone;
              p50/p90/p99/mean over all texts x runs (numpy's linear-interpolation percentiles).
  throughput: each run tokenizes every text (HF fast tokenizer, one batched call), sorts by length and cuts
              batches so that count x longest <= --batch-tokens and count <= --max-batch, pads each batch
              to its own longest text; texts/s end to end, median over runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def read_texts(path: str, limit: int = 0) -> list[str]:
    texts = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            texts.append(json.loads(line)["text"] if path.endswith(".jsonl") else line)
            if limit and len(texts) >= limit:
                break
    return texts


def summarize(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"count": 0, "p50": 0, "p90": 0, "p99": 0, "mean": 0, "min": 0, "max": 0}
    return {"count": int(a.size), "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean()), "min": float(a.min()), "max": float(a.max())}


def length_buckets(lengths: list[int], batch_tokens: int, max_batch: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])  # stable, like the C++ side
    batches, current = [], []
    for i in order:
        full = len(current) >= max_batch or (len(current) + 1) * lengths[i] > batch_tokens
        if current and full:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class TorchEngine:
    def __init__(self, model_dir: str, precision: str, threads: int):
        import torch
        from transformers import BertForSequenceClassification
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
        self.torch = torch
        # The seed's baseline: transformers' BertForSequenceClassification, eager mode, fp32 weights.
        self.model = BertForSequenceClassification.from_pretrained(model_dir).eval()
        self.precision = precision
        self.backend = f"pytorch {torch.__version__} eager, transformers, attn={self.model.config._attn_implementation}, {precision}" + (
            " (torch.autocast cpu bfloat16)" if precision == "bf16" else "")

    def logits(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        torch = self.torch
        with torch.inference_mode():
            inputs = dict(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                          token_type_ids=torch.from_numpy(types))
            if self.precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = self.model(**inputs).logits
            else:
                out = self.model(**inputs).logits
            return out.float().numpy()


class OrtEngine:
    def __init__(self, onnx_path: str, threads: int, precision: str):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.backend = f"onnxruntime {ort.__version__} CPUExecutionProvider, {precision}, {Path(onnx_path).name}"

    def logits(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0]


class OpenVinoEngine:
    """OpenVINO CPU plugin; bf16 through INFERENCE_PRECISION_HINT on the fp32 IR, int8 from NNCF's IR."""

    def __init__(self, ir_path: str, threads: int, precision: str):
        import openvino as ov
        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        self.compiled = core.compile_model(core.read_model(ir_path), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.inputs = {i.get_any_name() for i in self.compiled.inputs}
        got = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.backend = f"openvino {ov.__version__} CPU, {precision} (inference precision {got}), {Path(ir_path).name}"

    def logits(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out = self.request.infer({k: v for k, v in feed.items() if k in self.inputs})
        return np.asarray(next(iter(out.values())))


def pad(encodings: list[dict], rows: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    longest = max(len(encodings[r]["input_ids"]) for r in rows)
    ids = np.zeros((len(rows), longest), dtype=np.int64)
    mask = np.zeros_like(ids)
    types = np.zeros_like(ids)
    for k, r in enumerate(rows):
        e = encodings[r]
        n = len(e["input_ids"])
        ids[k, :n] = e["input_ids"]
        mask[k, :n] = 1
        types[k, :n] = e["token_type_ids"]
    return ids, mask, types


def run_latency(engine, tokenizer, texts, args, result) -> list[int]:
    def request(text):
        t0 = time.perf_counter()
        enc = tokenizer(text, truncation=True, max_length=args.max_length, return_tensors="np")
        ids = enc["input_ids"].astype(np.int64)
        types = enc["token_type_ids"].astype(np.int64)
        mask = np.ones_like(ids)
        t1 = time.perf_counter()
        logits = engine.logits(ids, mask, types)
        t2 = time.perf_counter()
        return int(np.argmax(logits[0])), (t2 - t0) * 1e3, (t1 - t0) * 1e3, (t2 - t1) * 1e3

    warmup = args.warmup if args.warmup >= 0 else 10
    for i in range(warmup):
        request(texts[i % len(texts)])
    total, tok, inf, run_p50 = [], [], [], []
    labels = [0] * len(texts)
    for r in range(args.runs):
        this_run = []
        for t, text in enumerate(texts):
            label, all_ms, tok_ms, inf_ms = request(text)
            if r == 0:
                labels[t] = label
            total.append(all_ms)
            tok.append(tok_ms)
            inf.append(inf_ms)
            this_run.append(all_ms)
        run_p50.append(float(np.percentile(this_run, 50)))
    result.update(warmup_requests=warmup, requests=len(total), latency_ms=summarize(total),
                  tokenize_ms=summarize(tok), inference_ms=summarize(inf), run_p50_ms=run_p50,
                  p50_ms_median_of_runs=float(np.median(run_p50)))
    return labels


def run_throughput(engine, tokenizer, texts, args, result) -> list[int]:
    def tokenize_all():
        enc = tokenizer(texts, truncation=True, max_length=args.max_length)
        return [{"input_ids": i, "token_type_ids": t} for i, t in zip(enc["input_ids"], enc["token_type_ids"])]

    encodings = tokenize_all()
    lengths = [len(e["input_ids"]) for e in encodings]
    buckets = length_buckets(lengths, args.batch_tokens, args.max_batch)
    warmup = args.warmup if args.warmup >= 0 else 2
    for i in range(min(warmup, len(buckets)) if buckets else 0):
        engine.logits(*pad(encodings, buckets[i % len(buckets)]))
    n, total_tokens = len(texts), sum(lengths)
    tps, itps, tokps, tok_ms = [], [], [], []
    labels = [0] * n
    for r in range(args.runs):
        t0 = time.perf_counter()
        encs = tokenize_all()
        run_buckets = length_buckets([len(e["input_ids"]) for e in encs], args.batch_tokens, args.max_batch)
        t1 = time.perf_counter()
        for rows in run_buckets:
            logits = engine.logits(*pad(encs, rows))
            if r == 0:
                for k, row in enumerate(rows):
                    labels[row] = int(np.argmax(logits[k]))
        t2 = time.perf_counter()
        tps.append(n / (t2 - t0))
        itps.append(n / (t2 - t1))
        tokps.append(total_tokens / (t2 - t0))
        tok_ms.append((t1 - t0) * 1e3)
    result.update(warmup_batches=warmup, batches=len(buckets), largest_batch=max(len(b) for b in buckets),
                  batch_tokens=args.batch_tokens, max_batch=args.max_batch,
                  texts_per_s=statistics.median(tps), texts_per_s_runs=tps,
                  inference_texts_per_s=statistics.median(itps), tokens_per_s=statistics.median(tokps),
                  tokenize_ms_per_run=statistics.median(tok_ms))
    return labels


def cmd_run(args) -> int:
    from transformers import AutoTokenizer
    t0 = time.perf_counter()
    if args.engine == "torch":
        engine = TorchEngine(args.model, args.precision, args.threads)
    elif args.engine == "openvino":
        engine = OpenVinoEngine(args.onnx, args.threads, args.precision)
    else:
        engine = OrtEngine(args.onnx, args.threads, args.precision)
    load_ms = (time.perf_counter() - t0) * 1e3
    tokenizer = AutoTokenizer.from_pretrained(args.model)  # the fast (Rust) BertTokenizer
    texts = read_texts(args.input, args.limit)
    lengths = [len(i) for i in tokenizer(texts, truncation=True, max_length=args.max_length)["input_ids"]]
    if args.engine == "torch" and args.precision == "bf16":
        # Fail here, clearly, when this torch build cannot autocast to bf16 on CPU.
        engine.logits(np.array([[101, 102]]), np.ones((1, 2), dtype=np.int64), np.zeros((1, 2), dtype=np.int64))
    result = {"tool": f"bench/peers.py {args.engine}", "mode": args.mode, "model": args.onnx or args.model,
              "input": args.input, "precision": args.precision, "backend": engine.backend,
              "threads": args.threads, "load_ms": load_ms, "max_length": args.max_length, "texts": len(texts),
              "runs": args.runs, "tokenizer": f"{type(tokenizer).__name__}",
              "tokens": {"total": sum(lengths), "max": max(lengths), "mean": sum(lengths) / len(lengths)}}
    run = run_latency if args.mode == "latency" else run_throughput
    labels = run(engine, tokenizer, texts, args, result)
    if args.predictions_out:
        Path(args.predictions_out).write_text("".join(f"{x}\n" for x in labels))
        result["predictions_out"] = args.predictions_out
    print(json.dumps(result, ensure_ascii=False))
    return 0


def cmd_prepare_onnx(args) -> int:
    """model.onnx (torch.onnx.export) -> model-opt.onnx (ORT BERT fusions) -> model-opt-int8.onnx (quantize_dynamic)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer
    from transformers import BertForSequenceClassification

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Eager attention exports as plain MatMul/Softmax, the pattern ORT's Attention fusion recognises.
    model = BertForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    ids = torch.tensor([[101, 2769, 4263, 102]], dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["logits"] = {0: "batch"}
    raw = out / "model.onnx"
    t0 = time.perf_counter()
    # The TorchScript exporter (dynamo=False): it needs no onnxscript and gives the graph ORT's BERT optimizer knows.
    example = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    try:
        torch.onnx.export(model, example, str(raw), input_names=names, output_names=["logits"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    except Exception as e:  # noqa: BLE001 — a torch without the TorchScript exporter: try the dynamo one (needs onnxscript)
        print(f"TorchScript ONNX export failed ({e}); trying dynamo=True", file=sys.stderr)
        torch.onnx.export(model, example, str(raw), input_names=names, output_names=["logits"], dynamic_axes=axes,
                          opset_version=18, dynamo=True)
    cfg = model.config
    opt = optimizer.optimize_model(str(raw), model_type="bert", num_heads=cfg.num_attention_heads,
                                   hidden_size=cfg.hidden_size)
    fused = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    opt_path = out / "model-opt.onnx"
    opt.save_model_to_file(str(opt_path))
    int8_path = out / "model-opt-int8.onnx"
    # Per-tensor signed int8 weights, activations quantised at run time (ORT's documented recipe for BERT on CPU).
    quantize_dynamic(str(opt_path), str(int8_path), weight_type=QuantType.QInt8,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    info = {"fp32": str(opt_path), "int8": str(int8_path), "fused_operators": fused,
            "seconds": time.perf_counter() - t0}
    (out / "onnx.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))
    return 0


def cmd_prepare_openvino(args) -> int:
    """model.onnx (the raw export, no ORT fusions) -> OpenVINO IR fp32 -> NNCF post-training int8 quantisation."""
    import nncf
    import openvino as ov
    from transformers import AutoTokenizer

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = ov.convert_model(args.onnx)
    fp32_path = out / "model-fp32.xml"
    ov.save_model(model, str(fp32_path), compress_to_fp16=False)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    texts = read_texts(args.calibration, args.calibration_texts)
    names = {i.get_any_name() for i in model.inputs}

    def sample(text):
        enc = tokenizer(text, truncation=True, max_length=args.max_length, return_tensors="np")
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64),
                "token_type_ids": enc["token_type_ids"].astype(np.int64)}
        return {k: v for k, v in feed.items() if k in names}

    # NNCF's recipe for transformers: int8 MatMuls (symmetric weights per channel, activations per tensor), the
    # softmax/LayerNorm/GELU subgraphs kept in float (model_type=TRANSFORMER).
    quantized = nncf.quantize(model, nncf.Dataset(texts, sample), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(texts))
    int8_path = out / "model-int8.xml"
    ov.save_model(quantized, str(int8_path), compress_to_fp16=False)
    info = {"fp32": str(fp32_path), "bf16": str(fp32_path), "int8": str(int8_path), "openvino": ov.__version__,
            "nncf": nncf.__version__, "calibration_texts": len(texts), "seconds": time.perf_counter() - t0}
    (out / "openvino.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--engine", choices=["torch", "ort", "openvino"], required=True)
    r.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8"])
    r.add_argument("--model", required=True, help="Hugging Face checkpoint folder (weights for torch, tokenizer for all)")
    r.add_argument("--onnx", help="ONNX file (engine ort) or OpenVINO IR .xml (engine openvino)")
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--input", required=True)
    r.add_argument("--max-length", type=int, default=128)
    r.add_argument("--mode", choices=["latency", "throughput"], default="latency")
    r.add_argument("--batch-tokens", type=int, default=8192)
    r.add_argument("--max-batch", type=int, default=64)
    r.add_argument("--warmup", type=int, default=-1)
    r.add_argument("--runs", type=int, default=5)
    r.add_argument("--limit", type=int, default=0)
    r.add_argument("--predictions-out")
    o = sub.add_parser("prepare-onnx")
    o.add_argument("--model", required=True)
    o.add_argument("--out-dir", required=True)
    v = sub.add_parser("prepare-openvino")
    v.add_argument("--model", required=True, help="checkpoint folder (its tokenizer makes the calibration inputs)")
    v.add_argument("--onnx", required=True, help="the raw ONNX export (prepare-onnx's model.onnx)")
    v.add_argument("--calibration", required=True, help="JSONL or text file of calibration texts")
    v.add_argument("--calibration-texts", type=int, default=300)
    v.add_argument("--max-length", type=int, default=128)
    v.add_argument("--out-dir", required=True)
    args = p.parse_args()
    if args.cmd == "run" and args.engine in ("ort", "openvino") and not args.onnx:
        p.error(f"--engine {args.engine} needs --onnx")
    if args.cmd == "run":
        return cmd_run(args)
    return cmd_prepare_onnx(args) if args.cmd == "prepare-onnx" else cmd_prepare_openvino(args)


if __name__ == "__main__":
    sys.exit(main())
