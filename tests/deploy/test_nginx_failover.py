"""deploy/nginx/senti.conf in front of two real `senti serve` replicas on loopback: one replica is
SIGKILLed while several threads send GET and POST predictions through nginx, and every request must
still get a 200 with the right answer (nginx retries it on the surviving replica).

nginx runs unprivileged-style from a temp dir (its pid, logs and temp paths there), with the committed
senti.conf included as is except for the listen port and the two replica addresses.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from conftest import REPO, free_port, require_tool

THREADS = 8
REQUESTS = 1600            # in all, across the threads
KILL_AFTER = REQUESTS // 3  # SIGKILL replica A once this many answers have come back
SCORE_TOLERANCE = 1e-4      # the same text may land in batches of other sizes

# Distinct texts, so an answer delivered to the wrong request would show.
TEXTS = [f"{a}{b}" for a in ["这件衣服的质量真的太棒了", "物流太慢了", "客服态度很好", "房间很脏，不推荐",
                             "The hotel was lovely", "价格便宜但做工一般", "完全不值这个价", "下次还会再来"]
         for b in ["。", "！", "，真的。", " 第二次购买", "?", "，包装也不错。"]]


def nginx_config(tmp: Path, listen: int, replicas: list[int]) -> Path:
    """The main nginx.conf for the test: everything writable in tmp, senti.conf included with our ports."""
    site = (REPO / "deploy/nginx/senti.conf").read_text(encoding="utf-8")
    servers = iter(replicas)
    site, n = re.subn(r"server 127\.0\.0\.1:\d+", lambda m: f"server 127.0.0.1:{next(servers)}", site)
    assert n == len(replicas), "deploy/nginx/senti.conf should list two replicas on 127.0.0.1"
    site, n = re.subn(r"listen \d+;", f"listen 127.0.0.1:{listen};", site)
    assert n == 1
    (tmp / "senti.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers must still reach the temp dir
    conf = tmp / "nginx.conf"
    conf.write_text(f"""{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format upstreams '$request_method $uri $status "$upstream_addr" "$upstream_status"';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/senti.conf;
}}
""", encoding="utf-8")
    return conf


def start_nginx(nginx: str, tmp: Path, conf: Path, port: int) -> subprocess.Popen:
    check = subprocess.run([nginx, "-t", "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            pass
        assert proc.poll() is None, (tmp / "error.log").read_text()
        time.sleep(0.05)
    raise AssertionError("nginx did not come up: " + (tmp / "error.log").read_text())


def request(conn: http.client.HTTPConnection, kind: str, texts: list[str]) -> tuple[int, object]:
    if kind == "get":
        conn.request("GET", "/predict?text=" + urllib.parse.quote(texts[0]))
    else:
        inputs = texts[0] if kind == "post" else texts
        conn.request("POST", "/predict", body=json.dumps({"inputs": inputs}),
                     headers={"content-type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    try:
        return r.status, json.loads(data)
    except ValueError:  # nginx's own error pages are HTML
        return r.status, data.decode(errors="replace")[:120]


def expected_answers(port: int) -> dict[str, tuple[str, float]]:
    """Each text's label and score, asked of one replica directly before the run."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = {}
    for text in TEXTS:
        status, body = request(conn, "get", [text])
        assert status == 200, body
        out[text] = (body["label"], body["score"])
    return out


def check_answer(kind: str, texts: list[str], status: int, body, expected) -> str | None:
    """None when the answer is right, else what is wrong."""
    if status != 200:
        return f"status {status}: {body}"
    if kind == "get":
        got = [(body["label"], body["score"])] if body.get("text") == texts[0] else None
    elif kind == "post":
        got = [(body[0]["label"], body[0]["score"])]
    else:
        got = [(ranks[0]["label"], ranks[0]["score"]) for ranks in body] if len(body) == len(texts) else None
    if got is None:
        return f"answer for other texts: {body}"
    for text, (label, score) in zip(texts, got):
        want_label, want_score = expected[text]
        if label != want_label or abs(score - want_score) > SCORE_TOLERANCE:
            return f"{text!r}: got {label} {score}, expected {want_label} {want_score}"
    return None


def test_nginx_failover_loses_no_request(tmp_path, senti_server):
    nginx = require_tool("nginx")
    os.chmod(tmp_path, 0o755)
    replica_a = senti_server()
    replica_b = senti_server()
    port = free_port()
    conf = nginx_config(tmp_path, port, [replica_a.port, replica_b.port])
    proxy = start_nginx(nginx, tmp_path, conf, port)
    try:
        expected = expected_answers(replica_b.port)
        done = 0
        failures: list[str] = []
        after_kill = 0
        killed = threading.Event()
        lock = threading.Lock()

        def client(worker: int) -> None:
            nonlocal done, after_kill
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for i in range(worker, REQUESTS, THREADS):
                kind = ("get", "post", "batch")[i % 3]
                texts = [TEXTS[i % len(TEXTS)]] if kind != "batch" else [TEXTS[(i + k) % len(TEXTS)] for k in range(4)]
                try:
                    status, body = request(conn, kind, texts)
                    problem = check_answer(kind, texts, status, body, expected)
                except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError) as e:
                    problem = f"{type(e).__name__}: {e}"
                    conn.close()  # a lost request; the next one reconnects
                with lock:
                    done += 1
                    if killed.is_set():
                        after_kill += 1
                    if problem:
                        failures.append(f"request {i} ({kind}): {problem}")

        start = time.monotonic()
        workers = [threading.Thread(target=client, args=(w,)) for w in range(THREADS)]
        for w in workers:
            w.start()
        while True:
            with lock:
                if done >= KILL_AFTER:
                    break
            time.sleep(0.001)
        replica_a.kill()  # SIGKILL: no drain, connections reset mid-request
        killed.set()
        for w in workers:
            w.join(timeout=300)
        elapsed = time.monotonic() - start

        assert not failures, f"{len(failures)} of {REQUESTS} requests lost or wrong, e.g. {failures[:5]}"
        assert done == REQUESTS
        assert after_kill >= REQUESTS // 2, "the kill came too late to test anything"
        # The access log: both replicas served, and nginx retried on B what failed on A.
        lines = (tmp_path / "access.log").read_text().splitlines()
        a, b = f"127.0.0.1:{replica_a.port}", f"127.0.0.1:{replica_b.port}"
        predict_lines = [line for line in lines if line.split()[1] == "/predict"]
        served_by_a = sum(1 for line in predict_lines if re.search(rf'"{re.escape(a)}" "200"', line))
        retried = [line for line in predict_lines if a in line and b in line and line.split()[2] == "200"]
        assert served_by_a > 0, "replica A answered nothing before it was killed"
        assert retried, "no request was retried on replica B"
        print(f"\n{REQUESTS} requests ({THREADS} threads) in {elapsed:.2f} s: {served_by_a} answered by replica A "
              f"before its SIGKILL, {len(retried)} retried from A to B, 0 lost")
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)
