#!/usr/bin/env python3
"""senti benchmark: every contender, same machine, same run, same rbt3-shaped checkpoint, same texts.

  bench/run [--quick] [--threads 2] [--runs 5] [--texts 1000] [--senti build/senti] [--out DIR]

Contenders: PyTorch eager (transformers BertForSequenceClassification) fp32 (the seed's baseline and the
agreement reference) and bf16 autocast; ONNX Runtime CPU fp32 (BERT graph fusions) and int8 (dynamic
quantisation); senti fp32/bf16/int8 (`senti bench`), senti on compiled .senti files when `senti compile`
exists. A contender that cannot run here gets a "not available: <why>" row; nothing else stops the run.
Workloads: (a) seed: batch 1, the five seed sentences; (b) traffic: test.jsonl texts, truncated at 128
tokens, throughput with length-sorted token-budget batches; (c) HTTP against `senti serve` (if present):
serial keep-alive GET /predict and wrk at 1/8/64 connections.
Writes bench/results/<UTC date-time>/{report.md, chart.png, results.json} (see bench/README.md).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import statistics
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import http_load  # noqa: E402
import report  # noqa: E402

SEED_SENTENCES = [
    "这件衣服的质量真的太棒了，非常满意！",
    "物流速度太慢了，等了半个多月，差评。",
    "卖家服务态度很好，耐心解答我的问题。",
    "收到货后发现有破损，体验极差。",
    "性价比很高，值得推荐购买。",
]
PRECISIONS = ["fp32", "bf16", "int8"]
REFERENCE = "pytorch-fp32"


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", flush=True)


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return (lines[-1] if lines else "no output")[:300]


def run_json(cmd: list[str], env: dict, timeout: int) -> tuple[dict | None, str]:
    """Runs a contender; (its JSON result, "") or (None, why it failed)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout}s"
    except OSError as e:
        return None, str(e)
    if p.returncode != 0:
        return None, f"exit {p.returncode}: {last_line(p.stderr) if p.stderr.strip() else last_line(p.stdout)}"
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line), ""
    return None, "no JSON result in output: " + last_line(p.stdout)


class Senti:
    def __init__(self, path: str):
        self.path = path
        self.subcommands = set()
        if Path(path).exists():
            help_text = subprocess.run([path, "--help"], capture_output=True, text=True).stdout
            for name in ("bench", "serve", "compile", "make-model", "info"):
                if any(line.strip().startswith(name + " ") or line.strip() == name for line in help_text.splitlines()):
                    self.subcommands.add(name)

    def has(self, sub: str) -> bool:
        return sub in self.subcommands


def environment(args, senti: Senti) -> dict:
    def cmd_out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    lscpu = cmd_out(["lscpu"])
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    flags = fields.get("Flags", "").split()
    interesting = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
                   if f in flags]
    versions = {}
    for mod in ("torch", "transformers", "onnxruntime", "onnx", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception as e:  # noqa: BLE001 — report whatever is missing
            versions[mod] = f"missing ({type(e).__name__})"
    info = {}
    if senti.has("info"):
        try:
            info = json.loads(cmd_out([senti.path, "info", "--json"]) or "{}")
        except json.JSONDecodeError:
            info = {}
    commit = cmd_out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = bool(cmd_out(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]))
    family = ", ".join(f"{k.lower()} {fields[k].strip()}" for k in ("CPU family", "Model", "Stepping") if k in fields)
    return {"cpu_model": fields.get("Model name", "").strip() or platform.processor(), "cpu_id": family,
            "vendor": fields.get("Vendor ID", "").strip(), "hypervisor": fields.get("Hypervisor vendor", "").strip(),
            "cpus": fields.get("CPU(s)", "").strip(), "isa_flags": interesting,
            "kernel": platform.release(), "python": platform.python_version(), "versions": versions,
            "senti": {"path": senti.path, "subcommands": sorted(senti.subcommands), "git": commit + ("+dirty" if dirty else ""),
                      "onednn": info.get("onednn", {})},
            "threads": args.threads, "loadavg_start": os.getloadavg()}


def prepare_model(senti: Senti, work: Path, vocab: str) -> Path:
    model = work / "rbt3"
    if (model / "config.json").exists() and (model / "model.safetensors").exists():
        return model
    if not senti.has("make-model"):
        raise SystemExit(f"bench: {senti.path} is missing or has no make-model; build senti first (scripts/setup)")
    log(f"making the rbt3-shaped synthetic checkpoint in {model}")
    r = subprocess.run([senti.path, "make-model", "--preset", "rbt3", "-o", str(model), "--vocab", vocab],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bench: senti make-model failed: {last_line(r.stderr or r.stdout)}")
    return model


def prepare_onnx(model: Path, work: Path, python: str, env: dict) -> tuple[dict | None, str]:
    out = work / "onnx"
    stamp = out / "onnx.json"
    if stamp.exists() and stamp.stat().st_mtime > (model / "model.safetensors").stat().st_mtime:
        return json.loads(stamp.read_text()), ""
    log("exporting to ONNX, ORT BERT fusions, int8 dynamic quantisation")
    return run_json([python, str(HERE / "peers.py"), "prepare-onnx", "--model", str(model), "--out-dir", str(out)], env, 1800)


def prepare_openvino(model: Path, onnx: dict | None, calibration: Path, work: Path, python: str,
                     env: dict) -> tuple[dict | None, str]:
    if not onnx:
        return None, "ONNX export failed"
    r = subprocess.run([python, "-c", "import openvino, nncf"], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return None, "openvino/nncf not installed in this Python (pip install openvino nncf)"
    out = work / "openvino"
    stamp = out / "openvino.json"
    raw = Path(onnx["fp32"]).parent / "model.onnx"
    if stamp.exists() and stamp.stat().st_mtime > raw.stat().st_mtime:
        return json.loads(stamp.read_text()), ""
    log("OpenVINO: IR from the raw ONNX export, NNCF int8 post-training quantisation (300 calibration texts)")
    return run_json([python, str(HERE / "peers.py"), "prepare-openvino", "--model", str(model), "--onnx", str(raw),
                     "--calibration", str(calibration), "--calibration-texts", "300", "--out-dir", str(out)], env, 3600)


def write_inputs(args, work: Path) -> tuple[Path, Path, list[str], list[str]]:
    reps = 2 if args.quick else 20
    seed_texts = SEED_SENTENCES * reps
    seed = work / "seed.txt"
    seed.write_text("".join(t + "\n" for t in seed_texts), encoding="utf-8")
    source = Path(args.data)
    traffic_texts = []
    with open(source, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                traffic_texts.append(json.loads(line)["text"])
            if args.texts and len(traffic_texts) >= args.texts:
                break
    traffic = work / "traffic.jsonl"
    traffic.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in traffic_texts), encoding="utf-8")
    return seed, traffic, seed_texts, traffic_texts


def write_long_inputs(args, work: Path, texts: list[str]) -> dict[int, Path]:
    """For each --lengths L: texts of about L tokens (consecutive test texts joined, cut at L - 2 characters:
    one token per Chinese character, plus [CLS] and [SEP]), 20 of them (quick: 4)."""
    files = {}
    count = 4 if args.quick else 20
    # One line per text whatever reads it: every line break (\r too) becomes a space; empty texts are skipped.
    pieces = [p for p in (" ".join(t.split()) for t in texts) if p]
    for length in args.lengths:
        out, i = [], 0
        while len(out) < count and pieces:
            joined = ""
            while len(joined) < length - 2:
                joined += pieces[i % len(pieces)]
                i += 1
            out.append(joined[: length - 2])
        path = work / f"long-{length}.txt"
        path.write_text("".join(t + "\n" for t in out), encoding="utf-8")
        files[length] = path
    return files


def contenders(args, senti: Senti, model: Path, onnx: dict | None, onnx_err: str, python: str, work: Path,
               ov: dict | None = None, ov_err: str = "not prepared") -> list[dict]:
    """Each: name, label, command builder (workload -> argv) or a reason it is not available."""
    out = []
    peers = [python, str(HERE / "peers.py"), "run", "--model", str(model), "--threads", str(args.threads)]
    out.append({"name": "pytorch-fp32", "label": "PyTorch eager fp32", "argv": peers + ["--engine", "torch", "--precision", "fp32"]})
    out.append({"name": "pytorch-bf16", "label": "PyTorch eager bf16 autocast", "argv": peers + ["--engine", "torch", "--precision", "bf16"]})
    for p in ("fp32", "int8"):
        c = {"name": f"ort-{p}", "label": f"ONNX Runtime {p}" + (" (fused)" if p == "fp32" else " (dynamic quant)")}
        if onnx:
            c["argv"] = peers + ["--engine", "ort", "--precision", p, "--onnx", onnx[p]]
        else:
            c["reason"] = "ONNX export failed: " + onnx_err
        out.append(c)
    for p in PRECISIONS:
        c = {"name": f"openvino-{p}", "label": f"OpenVINO {p}" + (" (NNCF PTQ)" if p == "int8" else "")}
        if ov:
            c["argv"] = peers + ["--engine", "openvino", "--precision", p, "--onnx", ov[p]]
        else:
            c["reason"] = "OpenVINO not available: " + ov_err
        out.append(c)
    for p in PRECISIONS:
        c = {"name": f"senti-{p}", "label": f"senti {p}", "precision": p}
        if senti.has("bench"):
            c["argv"] = [senti.path, "bench", "--model", str(model), "--precision", p, "--threads", str(args.threads), "--json"]
        else:
            c["reason"] = f"{senti.path} has no `bench` subcommand"
        out.append(c)
    if senti.has("compile"):
        for p in PRECISIONS:
            c = {"name": f"senti-compiled-{p}", "label": f"senti compiled {p}"}
            target = work / f"rbt3-{p}.senti"
            t0 = time.perf_counter()
            r = subprocess.run([senti.path, "compile", str(model), "-o", str(target), "--precision", p],
                               capture_output=True, text=True, timeout=1800)
            if r.returncode == 0 and target.exists():
                c["compile_s"] = time.perf_counter() - t0
                c["argv"] = [senti.path, "bench", "--model", str(target), "--threads", str(args.threads), "--json"]
            else:
                c["reason"] = f"senti compile --precision {p} failed: " + last_line(r.stderr or r.stdout)
            out.append(c)
    else:
        out.append({"name": "senti-compiled", "label": "senti compiled (.senti)",
                    "reason": f"{senti.path} has no `compile` subcommand"})
    return out


def agreement(labels: list[int] | None, reference: list[int] | None) -> dict | None:
    if labels is None or reference is None or len(labels) != len(reference) or not labels:
        return None
    same = sum(1 for a, b in zip(labels, reference) if a == b)
    return {"agree": same, "total": len(labels), "rate": same / len(labels)}


def run_workload(name: str, extra: list[str], cands: list[dict], env: dict, work: Path, timeout: int,
                 rounds: int = 1, key: str = "") -> dict:
    """Each contender's run of the workload; with rounds > 1 every contender runs once per round, in turn
    (so that a shared host's drift over minutes falls on all of them alike), and its result is the round
    whose `key` is the median of its rounds (every round's value kept under "rounds")."""
    results = {}
    runs: dict[str, list[dict]] = {}
    for r in range(rounds):
        for c in cands:
            if "argv" not in c:
                results[c["name"]] = {"label": c["label"], "available": False, "reason": c["reason"]}
                continue
            if r > 0 and not results.get(c["name"], {}).get("available"):
                continue  # failed in an earlier round
            pred = work / f"pred-{name}-{c['name']}.txt"
            pred.unlink(missing_ok=True)
            log(f"{name}: {c['name']}" + (f" (round {r + 1} of {rounds})" if rounds > 1 else ""))
            t0 = time.perf_counter()
            res, why = run_json(c["argv"] + extra + ["--predictions-out", str(pred)], env, timeout)
            entry = {"label": c["label"], "available": res is not None, "wall_s": time.perf_counter() - t0,
                     "command": shlex.join(c["argv"] + extra)}
            if res is None:
                entry["reason"] = why
                log(f"  not available: {why}")
            else:
                entry["result"] = res
                entry["predictions"] = [int(x) for x in pred.read_text().split()] if pred.exists() else None
                runs.setdefault(c["name"], []).append(entry)
            results[c["name"]] = entry
    if rounds > 1:
        for cname, entries in runs.items():
            if not results[cname].get("available"):
                continue
            ordered = sorted(entries, key=lambda e: e["result"][key])
            chosen = dict(ordered[(len(ordered) - 1) // 2])
            chosen["rounds"] = [e["result"][key] for e in entries]
            results[cname] = chosen
    ref = results.get(REFERENCE, {}).get("predictions")
    senti_ref = results.get("senti-fp32", {}).get("predictions")
    for name, entry in results.items():
        if entry.get("available"):
            entry["agreement"] = agreement(entry.get("predictions"), ref)
            if name.startswith("senti-"):
                entry["agreement_senti_fp32"] = agreement(entry.get("predictions"), senti_ref)
    return results


def run_http(args, senti: Senti, model: Path, seed_texts: list[str], traffic_texts: list[str], in_process: dict,
             reference: dict, work: Path, env: dict) -> dict:
    if not senti.has("serve"):
        return {"available": False, "reason": f"{senti.path} has no `serve` subcommand (issue 4 not merged yet)"}
    config = json.loads((model / "config.json").read_text())
    label2id = {v: int(k) for k, v in config.get("id2label", {}).items()}
    have_wrk = shutil.which("wrk") is not None
    bodies = work / "wrk_bodies.jsonl"
    http_load.write_bodies(traffic_texts, bodies)
    seed_paths = work / "wrk_seed_paths.txt"
    http_load.write_get_paths(SEED_SENTENCES, seed_paths)
    sample = traffic_texts[: (16 if args.quick else 200)]
    ref_seed = reference.get("seed")
    ref_traffic = reference.get("traffic")
    out = {"available": True, "servers": {}}
    for p in PRECISIONS:
        name = f"senti-{p}"
        if not in_process.get(name, {}).get("available"):
            out["servers"][name] = {"available": False,
                                    "reason": "skipped: not available in-process (" + in_process.get(name, {}).get("reason", "?") + ")"}
            continue
        log(f"http: {name}")
        server = http_load.Server(senti.path, str(model), p, args.threads, 128, work / f"serve-{p}.log")
        entry = {"available": True, "command": shlex.join(server.command)}
        try:
            server.wait_ready()
            info = http_load.server_info(server.port)
            entry["backend"] = info.get("backend", "?")
            entry["precision"] = info.get("precision", "?")
            s = http_load.serial(server.port, SEED_SENTENCES, 20 if args.quick else 100, args.http_runs, label2id)
            entry["serial"] = s
            entry["serial"]["agreement"] = agreement(s.pop("labels"), ref_seed[: len(SEED_SENTENCES)] if ref_seed else None)
            if have_wrk:
                tei = http_load.tei_labels(server.port, sample, label2id)
                entry["tei_agreement"] = agreement(tei, ref_traffic[: len(sample)] if ref_traffic else None)
                # The seed sentences again over one keep-alive connection, timed by wrk (C) rather than Python,
                # each wrk run followed by an in-process run (the server idle): HTTP against a figure taken
                # minutes earlier measured this shared host's drift as much as HTTP (+0.37 ms vs +0.0-0.1 ms
                # paired, rbt3 int8 at 1 thread), and one in-process run after all the wrk runs still read
                # +0.99 ms once (fp32, 1 thread) where alternating runs by hand gave +0.1-0.3 ms.
                wrk_runs, in_process_runs = [], []
                for _ in range(args.http_runs):
                    wrk_runs.append(http_load.wrk(server.port, seed_paths, 1, args.http_duration, get=True))
                    in_process_runs.append(in_process_now(args, senti, model, p, work / "seed.txt", env))
                entry["serial_wrk"] = http_load.wrk_summary(wrk_runs, 1, args.http_duration)
                entry["in_process_after"] = in_process_summary(in_process_runs)
                entry["wrk"] = [http_load.wrk_median(server.port, bodies, c, args.http_duration, args.http_runs)
                                for c in (1, 8, 64)]
            else:
                entry["wrk_reason"] = "wrk not installed (apt-get install wrk)"
            entry.update(server.rss_mb())
        except Exception as e:  # noqa: BLE001 — one failing server must not stop the report
            entry = {"available": False, "reason": f"{type(e).__name__}: {e}", "command": entry["command"]}
            log(f"  failed: {entry['reason']}")
        finally:
            rc = server.stop()
            entry["exit_code_after_sigterm"] = rc
        out["servers"][name] = entry
    return out


def in_process_now(args, senti: Senti, model: Path, precision: str, seed: Path, env: dict) -> dict:
    """senti bench at batch 1 on the seed sentences, as the seed workload runs it: {command, p50_ms} or a reason."""
    cmd = [senti.path, "bench", "--model", str(model), "--precision", precision, "--threads", str(args.threads),
           "--json", "--mode", "latency", "--input", str(seed), "--max-length", "128", "--runs", str(args.runs),
           "--warmup", "10"]
    result, err = run_json(cmd, env, 600)
    if result is None:
        return {"command": shlex.join(cmd), "reason": err}
    return {"command": shlex.join(cmd), "p50_ms": result["p50_ms_median_of_runs"]}


def in_process_summary(runs: list[dict]) -> dict:
    """The median p50 of in_process_now runs interleaved with wrk runs, with each run kept."""
    p50s = [r["p50_ms"] for r in runs if "p50_ms" in r]
    out = {"command": runs[0]["command"], "runs": runs}
    if p50s:
        out["p50_ms"] = statistics.median(p50s)
    else:
        out["reason"] = runs[0].get("reason", "?")
    return out


def repo_relative(value):
    """`value` with every path under the repository written relative to its root, so that a committed
    report names no directory of the machine it ran on."""
    if isinstance(value, dict):
        return {k: repo_relative(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [repo_relative(v) for v in value]
    if isinstance(value, str):
        return re.sub(re.escape(str(ROOT)) + r"(/|(?![\w.-]))", lambda m: "" if m.group(1) else ".", value)
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke check: few texts, 1 run, short wrk runs")
    ap.add_argument("--threads", type=int, default=2, help="compute threads for every contender (default 2)")
    ap.add_argument("--runs", type=int, help="timed runs per measurement, medians reported (default 5; quick 1)")
    ap.add_argument("--seed-rounds", type=int,
                    help="the seed workload in this many rounds, every contender once per round in turn, each "
                         "reported by its median round (default 3; quick 1): batch-1 ratios on a shared host")
    ap.add_argument("--texts", type=int, help="test.jsonl texts for the traffic workload, 0 = all (default 1000; quick 64)")
    ap.add_argument("--data", default=str(ROOT / "data/sentiment/test.jsonl"), help="labelled texts (default: %(default)s)")
    ap.add_argument("--vocab", default=str(ROOT / "data/vocab/bert-base-chinese-vocab.txt"),
                    help="vocab.txt for the synthetic checkpoint (senti make-model --vocab)")
    ap.add_argument("--senti", default=str(ROOT / "build/senti"))
    ap.add_argument("--work", default=str(HERE / ".work"), help="cache for the checkpoint, ONNX files, inputs")
    ap.add_argument("--out", help="output folder (default bench/results/<UTC date-time>)")
    ap.add_argument("--only", help="comma-separated contender names to run (others are listed as skipped)")
    ap.add_argument("--no-http", action="store_true", help="skip workload (c)")
    ap.add_argument("--lengths", help="workload (d): batch-1 latency of texts of about these many tokens, "
                                      "comma-separated, at most 512 (default 128,512; quick 128; 0: skip)")
    ap.add_argument("--http-duration", type=int, help="seconds per wrk run (default 10; quick 2)")
    ap.add_argument("--http-runs", type=int, help="repeats of each HTTP measurement (default 3; quick 1)")
    args = ap.parse_args()
    args.runs = args.runs or (1 if args.quick else 5)
    args.seed_rounds = args.seed_rounds or (1 if args.quick else 3)
    args.texts = args.texts if args.texts is not None else (64 if args.quick else 1000)
    args.http_duration = args.http_duration or (2 if args.quick else 10)
    args.http_runs = args.http_runs or (1 if args.quick else 3)
    lengths = args.lengths if args.lengths is not None else ("128" if args.quick else "128,512")
    try:
        args.lengths = [int(x) for x in lengths.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--lengths: comma-separated token counts, not {lengths!r}")
    args.lengths = [x for x in args.lengths if x != 0]
    if any(not 8 <= x <= 512 for x in args.lengths):
        ap.error("--lengths: each between 8 and 512 tokens (0: skip the workload)")
    command = os.environ.get("SENTI_BENCH_COMMAND") or shlex.join(["python", "bench/run.py"] + sys.argv[1:])

    started = dt.datetime.now(dt.timezone.utc)
    out = Path(args.out) if args.out else HERE / "results" / started.strftime("%Y-%m-%d_%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               TOKENIZERS_PARALLELISM="false", PYTHONWARNINGS="ignore", TRANSFORMERS_VERBOSITY="error")

    senti = Senti(args.senti)
    env_info = environment(args, senti)
    log(f"CPU {env_info['cpu_model']}, {args.threads} threads, senti {senti.path} ({', '.join(sorted(senti.subcommands)) or 'missing'})")
    model = prepare_model(senti, work, args.vocab)
    onnx, onnx_err = prepare_onnx(model, work, python, env)
    seed_file, traffic_file, seed_texts, traffic_texts = write_inputs(args, work)
    ov, ov_err = prepare_openvino(model, onnx, Path(args.data), work, python, env)
    cands = contenders(args, senti, model, onnx, onnx_err, python, work, ov, ov_err)
    if args.only:
        keep = set(args.only.split(",")) | {REFERENCE}
        for c in cands:
            if c["name"] not in keep and "argv" in c:
                del c["argv"]
                c["reason"] = "skipped (--only)"

    warm = ["--warmup", "3" if args.quick else "10"]
    results = {"command": command, "started": started.isoformat(timespec="seconds"), "environment": env_info,
               "model": {"path": str(model), "shape": "rbt3 (3 layers, hidden 768, 12 heads, FFN 3072, vocab 21128), synthetic weights"},
               "onnx": onnx, "openvino": ov, "settings": {k: v for k, v in vars(args).items()}, "reference": REFERENCE}
    timeout = 3600
    results["seed"] = run_workload("seed", ["--mode", "latency", "--input", str(seed_file), "--max-length", "128",
                                            "--runs", str(args.runs)] + warm, cands, env, work, timeout,
                                   rounds=args.seed_rounds, key="p50_ms_median_of_runs")
    results["traffic"] = run_workload("traffic", ["--mode", "throughput", "--input", str(traffic_file), "--max-length", "128",
                                                  "--batch-tokens", "8192", "--max-batch", "64", "--runs", str(args.runs)],
                                      cands, env, work, timeout)
    long_files = write_long_inputs(args, work, traffic_texts)
    results["long"] = {str(length): run_workload(f"long{length}", ["--mode", "latency", "--input", str(path),
                                                                   "--max-length", "512", "--runs", str(args.runs)] + warm,
                                                 cands, env, work, timeout, rounds=args.seed_rounds,
                                                 key="p50_ms_median_of_runs")
                       for length, path in long_files.items()}
    reference = {w: results[w].get(REFERENCE, {}).get("predictions") for w in ("seed", "traffic")}
    if args.no_http:
        results["http"] = {"available": False, "reason": "skipped (--no-http)"}
    else:
        results["http"] = run_http(args, senti, model, seed_texts, traffic_texts, results["traffic"], reference, work, env)
    results["finished"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results["environment"]["loadavg_end"] = os.getloadavg()

    results = repo_relative(results)
    (out / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    (out / "report.md").write_text(report.markdown(results), encoding="utf-8")
    chart_err = report.chart(results, out / "chart.png")
    if chart_err:
        log(f"chart not written: {chart_err}")
    log(f"wrote {out}/report.md, chart.png, results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
