"""senti on the GPU against PyTorch eager fp16 and torch.compile, one run, one machine, the same texts.

Workloads (issue 12): (a) seed: batch 1, the five seed sentences cycled, tokenize + forward + logits on
the host, p50/p90/p99; (b) throughput: the texts (truncated at 128 tokens) sorted by length and cut into
batches of at most --max-batch texts and --batch-tokens padded tokens (the batching `senti bench
--mode throughput` uses); texts/s, median of --runs; (c) HTTP: `senti serve --device cuda`, POST
/predict {"inputs": text} over 64 keep-alive connections (8 client processes x 8 threads), requests/s.

PyTorch pads each batch to its longest text; torch.compile (dynamic=False) additionally pads the length
to a multiple of 32 and the batch to --max-batch rows so it compiles a handful of shapes, once.
Writes results.json and report.md into --out.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))

from http_load import free_port  # noqa: E402
from peers import length_buckets, read_texts, summarize  # noqa: E402  (the CPU benchmark's batching and statistics)
from run import SEED_SENTENCES  # noqa: E402


def log(msg: str) -> None:
    print(f"[gpu_bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- PyTorch
class TorchRunner:
    def __init__(self, model_dir: str, compile_mode: str | None, max_batch: int):
        import torch
        from transformers import AutoTokenizer, BertForSequenceClassification

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = BertForSequenceClassification.from_pretrained(model_dir, attn_implementation="sdpa")
        self.model = model.half().cuda().eval()
        self.compiled = compile_mode is not None
        self.max_batch = max_batch
        self.forward = self.model
        if compile_mode:
            self.forward = torch.compile(self.model, mode=compile_mode, dynamic=False, fullgraph=True)

    def logits(self, encoded: dict):
        torch = self.torch
        ids, types, mask = encoded["input_ids"], encoded["token_type_ids"], encoded["attention_mask"]
        rows = ids.shape[0]
        if self.compiled:  # static shapes: length to a multiple of 32, rows to max_batch (or 1)
            length = (ids.shape[1] + 31) // 32 * 32
            target_rows = 1 if rows == 1 else self.max_batch
            pad = lambda t: torch.nn.functional.pad(t, (0, length - t.shape[1], 0, target_rows - rows))
            ids, types, mask = pad(ids), pad(types), pad(mask)
        with torch.inference_mode():
            out = self.forward(input_ids=ids.cuda(non_blocking=True), token_type_ids=types.cuda(non_blocking=True),
                               attention_mask=mask.cuda(non_blocking=True)).logits
            return out[:rows].float().cpu()

    def encode(self, texts: list[str]) -> dict:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")

    def latency(self, texts: list[str], warmup: int) -> dict:
        for t in texts[:warmup]:
            self.logits(self.encode([t]))
        times = []
        for t in texts:
            start = time.perf_counter()
            self.logits(self.encode([t]))
            times.append((time.perf_counter() - start) * 1000)
        return {"latency_ms": summarize(times)}

    def throughput(self, texts: list[str], batch_tokens: int, runs: int) -> dict:
        lengths = [len(x) for x in self.tokenizer(texts, truncation=True, max_length=128)["input_ids"]]
        batches = length_buckets(lengths, batch_tokens, self.max_batch)
        encoded = [self.encode([texts[i] for i in b]) for b in batches]
        labels = [0] * len(texts)
        for e in encoded[:3] + encoded[-3:]:  # warm-up (and compile) on the smallest and largest shapes
            self.logits(e)
        if self.compiled:
            for e in encoded:
                self.logits(e)
        rates = []
        for _ in range(runs):
            start = time.perf_counter()
            for b, e in zip(batches, encoded):
                out = self.logits(e).argmax(-1).tolist()
                for i, label in zip(b, out):
                    labels[i] = label
            rates.append(len(texts) / (time.perf_counter() - start))
        return {"texts_per_s": statistics.median(rates), "runs": rates, "batches": len(batches), "labels": labels}


def run_torch(args, texts: list[str], seed: list[str]) -> dict:
    import torch

    results = {}
    modes = [("pytorch-eager-fp16", None)] + [(f"torch.compile-{m}", m) for m in args.compile_modes.split(",") if m]
    for name, mode in modes:
        log(f"{name} ...")
        try:
            runner = TorchRunner(args.model, mode, args.max_batch)
            r = runner.latency(seed, warmup=20)
            r.update(runner.throughput(texts, args.batch_tokens, args.runs))
            results[name] = r
            log(f"{name}: p50 {r['latency_ms']['p50']:.3f} ms, {r['texts_per_s']:.0f} texts/s")
        except Exception as e:  # a contender that cannot run gets a row saying why
            results[name] = {"error": f"{type(e).__name__}: {e}"[:2000]}
            log(f"{name} failed: {e}")
        torch.cuda.empty_cache()
        torch._dynamo.reset()
    return results


# ---------------------------------------------------------------- senti
def run_senti(args, seed_file: Path, texts_file: Path) -> dict:
    results = {}
    for precision in args.precisions.split(","):
        name = f"senti-{precision}"
        log(f"{name} ...")
        base = [args.senti, "bench", "--model", args.model, "--device", args.device, "--precision", precision, "--json",
                "--max-length", "128"]
        try:
            lat = subprocess.run(base + ["--mode", "latency", "--input", str(seed_file), "--warmup", "20", "--runs", "3"],
                                 capture_output=True, text=True, timeout=300, check=True)
            thr = subprocess.run(base + ["--mode", "throughput", "--input", str(texts_file), "--runs", str(args.runs),
                                         "--batch-tokens", str(args.batch_tokens), "--max-batch", str(args.max_batch),
                                         "--predictions-out", str(Path(args.out) / f"{name}.labels")],
                                 capture_output=True, text=True, timeout=300, check=True)
            lat_j, thr_j = json.loads(lat.stdout.splitlines()[-1]), json.loads(thr.stdout.splitlines()[-1])
            labels = [int(x) for x in (Path(args.out) / f"{name}.labels").read_text().split()]
            results[name] = {"latency_ms": {"p50": lat_j["p50_ms_median_of_runs"], **lat_j["latency_ms"]},
                             "inference_ms": lat_j["inference_ms"], "texts_per_s": thr_j["texts_per_s"],
                             "backend": thr_j.get("backend"), "labels": labels}
            log(f"{name}: p50 {results[name]['latency_ms']['p50']:.3f} ms, {thr_j['texts_per_s']:.0f} texts/s "
                f"({thr_j.get('backend')})")
        except Exception as e:
            err = getattr(e, "stderr", "") or ""
            results[name] = {"error": f"{type(e).__name__}: {e} {err}"[:2000]}
            log(f"{name} failed: {e} {err[-500:]}")
    return results


def _client(port: int, bodies: list[bytes], duration: float, threads: int, queue) -> None:
    counts, errors = [0] * threads, [0] * threads

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        end, i = time.monotonic() + duration, k
        while time.monotonic() < end:
            try:
                conn.request("POST", "/predict", body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    counts[k] += 1
                else:
                    errors[k] += 1
            except Exception:
                errors[k] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            i += threads
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    queue.put((sum(counts), sum(errors)))


def http_load(port: int, texts: list[str], connections: int, duration: float) -> dict:
    bodies = [json.dumps({"inputs": t}, ensure_ascii=False).encode() for t in texts]
    processes = min(8, connections)
    queue = mp.Queue()
    procs = [mp.Process(target=_client, args=(port, bodies[p::processes], duration, connections // processes, queue))
             for p in range(processes)]
    start = time.perf_counter()
    for p in procs:
        p.start()
    got = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - start
    ok, errors = sum(g[0] for g in got), sum(g[1] for g in got)
    return {"requests_per_s": ok / elapsed, "requests": ok, "errors": errors, "connections": connections,
            "seconds": elapsed}


def run_http(args, texts: list[str]) -> dict:
    results = {}
    for precision in args.http_precisions.split(","):
        if not precision:
            continue
        name = f"senti-{precision}-http"
        port = free_port()
        log_path = Path(args.out) / f"serve-{precision}.log"
        cmd = [args.senti, "serve", "--model", args.model, "--device", args.device, "--precision", precision,
               "--port", str(port), "--max-length", "128", "--summary-interval", "0"]
        with open(log_path, "w") as log_file:
            server = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/health")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            http_load(port, texts, args.connections, 2.0)  # warm-up
            results[name] = http_load(port, texts, args.connections, args.http_duration)
            log(f"{name}: {results[name]['requests_per_s']:.0f} req/s over {args.connections} connections")
        except Exception as e:
            results[name] = {"error": f"{type(e).__name__}: {e}"}
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    return results


def agreement(labels, reference) -> float | None:
    if not labels or not reference or len(labels) != len(reference):
        return None
    return sum(a == b for a, b in zip(labels, reference)) / len(labels)


def write_report(out: Path, args, env: dict, results: dict) -> None:
    ref = results.get("pytorch-eager-fp16", {}).get("labels")
    lines = [f"# senti on the GPU ({env.get('gpu', '?')})", "", f"command: `{' '.join(sys.argv)}`", "",
             f"texts: {args.texts} ({env['texts']} texts, <= 128 tokens); batching: <= {args.max_batch} texts, "
             f"<= {args.batch_tokens} padded tokens", "",
             "| contender | seed batch-1 p50 ms | p99 ms | texts/s | argmax agreement vs eager fp16 |",
             "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        if name.endswith("-http"):
            continue
        if "error" in r:
            lines.append(f"| {name} | not available: {r['error'][:200]} | | | |")
            continue
        a = agreement(r.get("labels"), ref)
        lines.append(f"| {name} | {r['latency_ms']['p50']:.3f} | {r['latency_ms']['p99']:.3f} | "
                     f"{r['texts_per_s']:.0f} | {'' if a is None else f'{100 * a:.2f}%'} |")
    lines += ["", "| HTTP (POST /predict, one text a request) | requests/s | errors |", "|---|---:|---:|"]
    for name, r in results.items():
        if name.endswith("-http"):
            lines.append(f"| {name} | {r.get('requests_per_s', 0):.0f} | {r.get('errors', r.get('error'))} |")
    eager, s16 = results.get("pytorch-eager-fp16", {}), results.get("senti-fp16", {})
    compiled = [r for n, r in results.items() if n.startswith("torch.compile") and "error" not in r]
    if "error" not in eager and "error" not in s16 and eager and s16:
        lines += ["", "## Targets (issue 12)", ""]
        lines.append(f"- batch-1 p50 vs eager: {eager['latency_ms']['p50'] / s16['latency_ms']['p50']:.1f}x (target >= 10x)")
        if compiled:
            best = min(compiled, key=lambda r: r["latency_ms"]["p50"])
            lines.append(f"- batch-1 p50 vs best torch.compile: {best['latency_ms']['p50'] / s16['latency_ms']['p50']:.1f}x (target >= 2x)")
            top = max(compiled, key=lambda r: r["texts_per_s"])
            lines.append(f"- throughput vs best torch.compile: {s16['texts_per_s'] / top['texts_per_s']:.1f}x (target >= 2x)")
        h = results.get("senti-fp16-http", {})
        if "requests_per_s" in h:
            lines.append(f"- HTTP / in-process throughput: {100 * h['requests_per_s'] / s16['texts_per_s']:.0f}% (target >= 80%)")
    lines += ["", "```", json.dumps(env, indent=1), "```"]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--senti", default="build/senti")
    p.add_argument("--model", default="models/senti-zh-sentiment")
    p.add_argument("--texts", required=True, help=".jsonl with a text field, or .txt")
    p.add_argument("--limit", type=int, default=2000)
    p.add_argument("--out", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--batch-tokens", type=int, default=8192)
    p.add_argument("--max-batch", type=int, default=64)
    p.add_argument("--precisions", default="fp16,bf16")
    p.add_argument("--http-precisions", default="fp16")
    p.add_argument("--compile-modes", default="reduce-overhead,max-autotune-no-cudagraphs")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--http-duration", type=float, default=10.0)
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--device", default="cuda", help="senti's --device (cpu: a smoke test of this script without a GPU)")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    texts = read_texts(args.texts, args.limit)
    seed = SEED_SENTENCES * 40
    seed_file, texts_file = out / "seed.txt", out / "texts.txt"
    seed_file.write_text("".join(t + "\n" for t in seed), encoding="utf-8")
    texts_file.write_text("".join(t.replace("\n", " ").replace("\r", " ") + "\n" for t in texts), encoding="utf-8")
    env = {"texts": len(texts)}
    try:
        import torch
        import transformers

        env.update(torch=torch.__version__, transformers=transformers.__version__,
                   gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none")
    except Exception as e:
        env["torch_error"] = str(e)
    info = subprocess.run([args.senti, "info"], capture_output=True, text=True)
    env["senti_info"] = info.stdout
    results = {}
    if not args.skip_torch:
        results.update(run_torch(args, texts, seed))
    results.update(run_senti(args, seed_file, texts_file))
    results.update(run_http(args, texts))
    (out / "results.json").write_text(json.dumps({"env": env, "results": results}, indent=1, ensure_ascii=False))
    write_report(out, args, env, results)
    print((out / "report.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
