"""End-to-end HTTP workloads against `senti serve` (issue 4's API).

- serial: one keep-alive connection, GET /predict?text=... one request after another (the seed's curl loop),
  latency measured by the client around each request;
- concurrent: wrk (Debian package) with wrk_predict.lua, POST /predict {"inputs": text} over 1, 8, 64
  connections; requests/s and wrk's p50/p99 latency. wrk runs one thread on the same 2-core machine, so the
  load generator takes CPU from the server: the figures are end to end on one host, as a user would measure.
"""
from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Starts `senti serve` with the flags its --help lists, waits until it answers, stops it with SIGTERM."""

    def __init__(self, senti: str, model: str, precision: str, threads: int, max_length: int, log_path: Path):
        help_text = subprocess.run([senti, "serve", "--help"], capture_output=True, text=True).stdout
        self.port = free_port()
        cmd = [senti, "serve", "--model", model, "--port", str(self.port)]
        if "--host" in help_text:
            cmd += ["--host", "127.0.0.1"]
        if "--precision" in help_text:
            cmd += ["--precision", precision]
        if "--threads" in help_text:
            cmd += ["--threads", str(threads)]
        if "--max-length" in help_text:
            cmd += ["--max-length", str(max_length)]
        self.command = cmd
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"senti serve exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                c.request("GET", "/predict?text=" + urllib.parse.quote("好"))
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"senti serve did not answer within {timeout_s:.0f}s: {self.log_tail()}")

    def rss_mb(self) -> dict:
        out = {}
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1]) / 1024
        except OSError:
            pass
        return {"rss_mb": out.get("VmRSS"), "peak_rss_mb": out.get("VmHWM")}

    def log_tail(self, n: int = 5) -> str:
        self.log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return " | ".join(lines[-n:])

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def server_info(port: int) -> dict:
    """GET /info (model, precision, backend, ...) or {} when the server has none."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/info")
        resp = c.getresponse()
        body = resp.read()
        c.close()
        return json.loads(body) if resp.status == 200 else {}
    except (OSError, ValueError):
        return {}


def label_of(answer, label2id: dict) -> int | None:
    """Label id from a GET /predict answer ({"label": ...}) or a TEI answer ([{"label","score"}, ...])."""
    if isinstance(answer, dict) and "label" in answer:
        return label2id.get(answer["label"])
    if isinstance(answer, list) and answer and isinstance(answer[0], list):
        answer = answer[0]
    if isinstance(answer, list) and answer and all(isinstance(x, dict) for x in answer):
        best = max(answer, key=lambda x: x.get("score", 0))
        return label2id.get(best.get("label"))
    return None


def serial(port: int, texts: list[str], requests: int, runs: int, label2id: dict, warmup: int = 10) -> dict:
    """GET /predict?text=... over one keep-alive connection; labels of the first len(texts) requests."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(text):
        t0 = time.perf_counter()
        conn.request("GET", "/predict?text=" + urllib.parse.quote(text))
        resp = conn.getresponse()
        body = resp.read()
        ms = (time.perf_counter() - t0) * 1e3
        if resp.status != 200:
            raise RuntimeError(f"GET /predict answered {resp.status}: {body[:200]!r}")
        return ms, json.loads(body)

    for i in range(warmup):
        get(texts[i % len(texts)])
    labels = [label_of(get(t)[1], label2id) for t in texts]
    all_ms, run_p50 = [], []
    for _ in range(runs):
        ms = [get(texts[i % len(texts)])[0] for i in range(requests)]
        all_ms += ms
        run_p50.append(float(np.percentile(ms, 50)))
    conn.close()
    a = np.asarray(all_ms)
    return {"requests_per_run": requests, "runs": runs, "p50_ms": float(np.percentile(a, 50)),
            "p90_ms": float(np.percentile(a, 90)), "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()),
            "run_p50_ms": run_p50, "p50_ms_median_of_runs": statistics.median(run_p50), "labels": labels}


def tei_labels(port: int, texts: list[str], label2id: dict) -> list[int | None]:
    """POST /predict {"inputs": text} one text at a time (what wrk sends), for the agreement check."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    labels = []
    for t in texts:
        conn.request("POST", "/predict", body=json.dumps({"inputs": t}).encode(),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        body = resp.read()
        labels.append(label_of(json.loads(body), label2id) if resp.status == 200 else None)
    conn.close()
    return labels


def write_bodies(texts: list[str], path: Path) -> None:
    path.write_text("".join(json.dumps({"inputs": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")


def write_get_paths(texts: list[str], path: Path) -> None:
    path.write_text("".join("/predict?text=" + urllib.parse.quote(t) + "\n" for t in texts), encoding="utf-8")


def wrk(port: int, bodies: Path, connections: int, duration_s: int, get: bool = False) -> dict:
    """One wrk run: POST bodies (one JSON per line), or GET paths (one per line) when get."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--timeout", "30s", "-s", str(HERE / "wrk_predict.lua"),
           f"http://127.0.0.1:{port}", "--", str(bodies)] + (["get"] if get else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 120)
    m = re.search(r"^WRK_JSON (\{.*\})$", p.stdout, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({p.returncode}): {(p.stderr or p.stdout)[-300:]}")
    r = json.loads(m.group(1))
    seconds = r["duration_us"] / 1e6
    errors = sum(v for k, v in r.items() if k.startswith("errors_"))
    out = {"connections": connections, "requests": r["requests"], "requests_per_s": r["requests"] / seconds,
           "p50_ms": r["p50_us"] / 1e3, "p90_ms": r["p90_us"] / 1e3, "p99_ms": r["p99_us"] / 1e3,
           "mean_ms": r["mean_us"] / 1e3, "errors": errors, "non_2xx": r["errors_status"], "command": " ".join(cmd)}
    # GET runs: the server's own mean time (x-total-time) over the answers wrk timed. wrk's mean minus it is
    # what HTTP adds per request (socket to socket, both ends' wake-ups, parsing, rendering), paired over the
    # same requests, so a slow minute of the shared host moves both means alike.
    if r.get("server_answers"):
        out["server_answers"] = r["server_answers"]
        out["server_mean_ms"] = r["server_mean_us"] / 1e3
        out["http_mean_ms"] = out["mean_ms"] - out["server_mean_ms"]
    return out


def wrk_median(port: int, bodies: Path, connections: int, duration_s: int, runs: int, get: bool = False) -> dict:
    return wrk_summary([wrk(port, bodies, connections, duration_s, get) for _ in range(runs)], connections, duration_s)


def wrk_summary(results: list[dict], connections: int, duration_s: int) -> dict:
    """Medians over wrk runs (each kept under per_run)."""
    runs = len(results)
    med = lambda k: statistics.median(r[k] for r in results)  # noqa: E731
    return {"connections": connections, "runs": runs, "duration_s": duration_s,
            "requests_per_s": med("requests_per_s"), "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "errors": sum(r["errors"] for r in results), "requests": sum(r["requests"] for r in results),
            **({"mean_ms": med("mean_ms"), "http_mean_ms": med("http_mean_ms"), "server_mean_ms": med("server_mean_ms")}
               if all("http_mean_ms" in r for r in results) else {}),
            "per_run": results}
