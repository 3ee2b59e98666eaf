"""Throughput of `senti serve` over gRPC (tritonclient.grpc, KServe v2 GRPCInferenceService) beside HTTP
(KServe v2 JSON over keep-alive HTTP/1.1 connections, one per in-flight request), 64 requests in flight, the same texts, the same
server process (started with --port and --grpc-port). One text per request: the transport and the batcher
are what differ, not the batch a client builds.

    .venv-grpc/bin/python bench/grpc_vs_http.py [--senti build/senti] [--model DIR] [--requests 512]

Needs tritonclient[grpc] and numpy. Writes bench/results/grpc_vs_http/<UTC date-time>.md (and .json):
requests/s and latency percentiles per protocol, the machine's load average when it ran, and whether every
gRPC answer had the HTTP answer's label.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient
from concurrent.futures import ThreadPoolExecutor

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 64


def load_texts(path: Path, count: int) -> list[str]:
    texts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) == count:
                break
    return texts


def start_server(senti: str, model: str | None, log_path: Path) -> tuple[subprocess.Popen, int, int, str]:
    cmd = [senti, "serve", "--port", "0", "--grpc-port", "0", "--log-format", "json", "--summary-interval", "0"]
    if model:
        cmd += ["--model", model]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "senti serve listening":
                return proc, event["port"], event["grpc_port"], event["model"]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("senti serve did not start:\n" + log_path.read_text())


def run(make_input, infer_async, texts: list[str], requests: int) -> tuple[float, list[float], list[str]]:
    """requests calls, at most CONCURRENCY in flight; returns seconds, latencies (ms) and the top labels."""
    slots = threading.Semaphore(CONCURRENCY)
    latencies = [0.0] * requests
    labels = [""] * requests
    errors: list[str] = []
    done = threading.Semaphore(0)

    def callback_for(i: int, start: float):
        def on_done(result, error) -> None:
            latencies[i] = (time.perf_counter() - start) * 1000
            if error is not None:
                errors.append(str(error))
            else:
                label = result.as_numpy("label").reshape(-1)[0]
                labels[i] = label.decode() if isinstance(label, bytes) else str(label)
            slots.release()
            done.release()
        return on_done

    t0 = time.perf_counter()
    for i in range(requests):
        slots.acquire()
        infer_async(make_input(texts[i % len(texts)]), callback_for(i, time.perf_counter()))
    for _ in range(requests):
        if not done.acquire(timeout=300):
            raise SystemExit("a request did not complete in 300 s")
    seconds = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return seconds, latencies, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senti", default=str(ROOT / "build" / "senti"))
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--data", default=str(ROOT / "data" / "sentiment" / "test.jsonl"))
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--requests", type=int, default=512, help="requests per protocol and round")
    parser.add_argument("--rounds", type=int, default=2, help="HTTP then gRPC, this many times (the best round counts)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "grpc_vs_http"))
    args = parser.parse_args()

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d_%H%M%SZ")
    texts = load_texts(Path(args.data), args.texts)
    work = ROOT / "bench" / ".work"  # git-ignored: the server log stays out of the results
    work.mkdir(parents=True, exist_ok=True)
    proc, port, grpc_port, model = start_server(args.senti, args.model, work / f"grpc_vs_http_{stamp}.server.log")
    try:
        pool = ThreadPoolExecutor(CONCURRENCY)
        local = threading.local()
        grpc = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc_port}")

        def http_input(text: str) -> bytes:
            return json.dumps({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]}]},
                              ensure_ascii=False).encode()

        def grpc_input(text: str):
            t = grpcclient.InferInput("text", [1], "BYTES")
            t.set_data_from_numpy(np.array([text.encode()], dtype=np.object_))
            return [t]

        def http_post(body: bytes, callback) -> None:
            try:
                if not hasattr(local, "conn"):
                    local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                local.conn.request("POST", f"/v2/models/{model}/infer", body, {"Content-Type": "application/json"})
                response = local.conn.getresponse()
                answer = json.loads(response.read())
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {answer}")
                callback(JsonResult(answer), None)
            except Exception as e:  # noqa: BLE001: reported as the request's error
                callback(None, e)

        def http_async(body: bytes, callback):
            pool.submit(http_post, body, callback)

        def grpc_async(inputs, callback):
            grpc.async_infer(model, inputs, callback, client_timeout=300)

        # Warm-up: every text once over each protocol.
        run(http_input, http_async, texts, len(texts))
        run(grpc_input, grpc_async, texts, len(texts))
        rounds = []
        for _ in range(args.rounds):
            for name, make_input, infer_async in (("http", http_input, http_async), ("grpc", grpc_input, grpc_async)):
                load_before = os.getloadavg()
                seconds, latencies, labels = run(make_input, infer_async, texts, args.requests)
                rounds.append({"protocol": name, "seconds": seconds, "requests_per_s": args.requests / seconds,
                               "p50_ms": float(np.percentile(latencies, 50)), "p99_ms": float(np.percentile(latencies, 99)),
                               "labels": labels, "loadavg_before": load_before})
        same_labels = all(r["labels"] == rounds[0]["labels"] for r in rounds)
        grpc.close()
        pool.shutdown()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()

    best = {p: max((r for r in rounds if r["protocol"] == p), key=lambda r: r["requests_per_s"]) for p in ("http", "grpc")}
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [
        f"# gRPC vs HTTP throughput, {stamp}",
        "",
        f"`{' '.join(['bench/grpc_vs_http.py', *sys.argv[1:]])}`: model `{model}`, {CONCURRENCY} requests "
        f"in flight, one text per request, {args.requests} requests per protocol and round, best of {args.rounds} rounds, "
        f"{len(texts)} texts from `{Path(args.data).relative_to(ROOT) if Path(args.data).is_relative_to(ROOT) else args.data}`.",
        f"Server: `senti serve` defaults (one process serving both). Clients: tritonclient {_version('tritonclient')} "
        f"(grpc: `async_infer`, raw_input_contents); HTTP: KServe v2 JSON from {CONCURRENCY} threads with a "
        f"keep-alive connection each (http.client); one Python process on the same machine.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; `uptime` after the run: `{uptime}`. "
        "The client shares the machine with the server (and its Python threads compete with the server's for "
        "the cores), so these are end-to-end figures for one machine, not the server's ceiling.",
        "",
        "| protocol | requests/s | p50 latency ms | p99 latency ms |",
        "|---|---|---|---|",
    ]
    for p in ("http", "grpc"):
        r = best[p]
        lines.append(f"| {p} | {r['requests_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |")
    lines += ["", f"Every round gave the same label for every request over both protocols: {same_labels}.", "",
              "All rounds (requests/s): " + ", ".join(f"{r['protocol']} {r['requests_per_s']:.1f}" for r in rounds)]
    (out_dir / f"{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for r in rounds:
        del r["labels"]
    (out_dir / f"{stamp}.json").write_text(json.dumps({"rounds": rounds, "same_labels": same_labels, "uptime": uptime},
                                                      indent=2) + "\n", encoding="utf-8")
    print("\n".join(lines))


class JsonResult:
    """The HTTP KServe v2 answer with the one method run() reads of a tritonclient InferResult."""

    def __init__(self, answer: dict) -> None:
        self.outputs = {o["name"]: o for o in answer["outputs"]}

    def as_numpy(self, name: str):
        return np.array(self.outputs[name]["data"], dtype=np.object_)


def _version(package: str) -> str:
    from importlib.metadata import version
    return version(package)


if __name__ == "__main__":
    main()
