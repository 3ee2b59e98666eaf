"""report.md and chart.png from the results dictionary bench/run.py builds (also saved as results.json)."""
from __future__ import annotations

from pathlib import Path

REFERENCE = "pytorch-fp32"


def _f(v, digits=2) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _agree(a) -> str:
    if not a:
        return "–"
    return f"{100 * a['rate']:.1f}% ({a['agree']}/{a['total']})"


def _ratio(num, den) -> str:
    return "–" if not num or not den else f"{num / den:.2f}×"


def _seed_p50(entry) -> float | None:
    return entry["result"]["p50_ms_median_of_runs"] if entry.get("available") else None


def _tps(entry) -> float | None:
    return entry["result"]["texts_per_s"] if entry.get("available") else None


def _unavailable(rows: list[str], name: str, entry: dict, columns: int) -> None:
    rows.append(f"| {entry['label']} | not available: {entry['reason'].replace('|', '/')} |" + " |" * (columns - 2))


def seed_table(seed: dict) -> list[str]:
    ref = _seed_p50(seed.get(REFERENCE, {}))
    ort = _seed_p50(seed.get("ort-fp32", {}))
    rows = ["| contender | backend | p50 ms | p90 ms | p99 ms | mean ms | tokenize p50 ms | inference p50 ms | "
            "× PyTorch fp32 | × ORT fp32 | agreement vs PyTorch fp32 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in seed.items():
        if not e.get("available"):
            _unavailable(rows, name, e, 11)
            continue
        r = e["result"]
        p50 = r["p50_ms_median_of_runs"]
        rows.append(f"| {e['label']} | {r['backend']} | {_f(p50, 3)} | {_f(r['latency_ms']['p90'], 3)} | "
                    f"{_f(r['latency_ms']['p99'], 3)} | {_f(r['latency_ms']['mean'], 3)} | {_f(r['tokenize_ms']['p50'], 3)} | "
                    f"{_f(r['inference_ms']['p50'], 3)} | {_ratio(ref, p50)} | {_ratio(ort, p50)} | {_agree(e.get('agreement'))} |")
    return rows


def traffic_table(traffic: dict) -> list[str]:
    ref = _tps(traffic.get(REFERENCE, {}))
    ort = _tps(traffic.get("ort-fp32", {}))
    rows = ["| contender | backend | texts/s (median) | runs min–max | texts/s w/o tokenization | tokens/s | batches | "
            "× PyTorch fp32 | × ORT fp32 | agreement vs PyTorch fp32 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in traffic.items():
        if not e.get("available"):
            _unavailable(rows, name, e, 10)
            continue
        r = e["result"]
        runs = r["texts_per_s_runs"]
        rows.append(f"| {e['label']} | {r['backend']} | {_f(r['texts_per_s'], 1)} | {_f(min(runs), 1)}–{_f(max(runs), 1)} | "
                    f"{_f(r['inference_texts_per_s'], 1)} | {_f(r['tokens_per_s'], 0)} | {r['batches']} | "
                    f"{_ratio(r['texts_per_s'], ref)} | {_ratio(r['texts_per_s'], ort)} | {_agree(e.get('agreement'))} |")
    return rows


def http_tables(http: dict, traffic: dict) -> list[str]:
    if not http.get("available"):
        return [f"Not available: {http.get('reason')}"]
    ort32 = _tps(traffic.get("ort-fp32", {}))
    ort8 = _tps(traffic.get("ort-int8", {}))
    serial = ["Serial: one keep-alive connection, `GET /predict?text=<seed sentence>` one after another (the seed's curl loop), "
              "client-side latency.", "",
              "| server | p50 ms | p90 ms | p99 ms | mean ms | requests | agreement vs PyTorch fp32 | RSS after load MB | peak RSS MB |",
              "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    load = ["Concurrent: `wrk -t1 -cN`, `POST /predict {\"inputs\": text}` cycling through the traffic texts (TEI API); "
            "wrk shares the machine's cores with the server.", "",
            "| server | connections | requests/s | p50 ms | p99 ms | errors | × ORT fp32 in-process | × ORT int8 in-process | "
            "agreement vs PyTorch fp32 (POST sample) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, e in http["servers"].items():
        if not e.get("available"):
            serial.append(f"| {name} | not available: {e['reason'].replace('|', '/')} | | | | | | | |")
            continue
        s = e["serial"]
        serial.append(f"| {name} | {_f(s['p50_ms_median_of_runs'], 3)} | {_f(s['p90_ms'], 3)} | {_f(s['p99_ms'], 3)} | "
                      f"{_f(s['mean_ms'], 3)} | {s['requests_per_run']}×{s['runs']} | {_agree(s.get('agreement'))} | "
                      f"{_f(e.get('rss_mb'), 0)} | {_f(e.get('peak_rss_mb'), 0)} |")
        if "wrk" not in e:
            load.append(f"| {name} | not available: {e.get('wrk_reason')} | | | | | | | |")
            continue
        for w in e["wrk"]:
            load.append(f"| {name} | {w['connections']} | {_f(w['requests_per_s'], 1)} | {_f(w['p50_ms'], 3)} | "
                        f"{_f(w['p99_ms'], 3)} | {w['errors']} | {_ratio(w['requests_per_s'], ort32)} | "
                        f"{_ratio(w['requests_per_s'], ort8)} | {_agree(e.get('tei_agreement'))} |")
    cmds = ["", "Server commands: " + "; ".join(f"`{e['command']}`" for e in http["servers"].values() if e.get("command"))]
    return serial + [""] + load + cmds


def markdown(res: dict) -> str:
    env = res["environment"]
    s = res["settings"]
    v = env["versions"]
    lines = [
        f"# senti benchmark, {res['started']}",
        "",
        f"Produced by: `{res['command']}` (from the repository root; finished {res['finished']}).",
        "",
        f"- CPU: **{env['cpu_model']}** ({env['cpus']} logical CPUs; ISA: {', '.join(env['isa_flags']) or '–'}), "
        f"kernel {env['kernel']}; load average at start {', '.join(f'{x:.2f}' for x in env['loadavg_start'])}, "
        f"at end {', '.join(f'{x:.2f}' for x in env['loadavg_end'])}.",
        f"- Threads: **{s['threads']}** for every contender (torch.set_num_threads, ORT intra_op_num_threads, senti --threads).",
        f"- senti: `{env['senti']['path']}`, git {env['senti']['git']}, oneDNN {env['senti']['onednn'].get('version', '?')} "
        f"(ISA {env['senti']['onednn'].get('isa', '?')}); subcommands: {', '.join(env['senti']['subcommands'])}.",
        f"- Python peers: torch {v['torch']}, transformers {v['transformers']}, onnxruntime {v['onnxruntime']}, "
        f"onnx {v['onnx']}, Python {env['python']}.",
        f"- Model: {res['model']['shape']} (`senti make-model --preset rbt3`), loaded by every contender from the same folder.",
    ]
    if res.get("onnx"):
        lines.append(f"- ONNX: `torch.onnx.export` (opset 17) → `onnxruntime.transformers.optimizer` (bert; fused "
                     f"{res['onnx']['fused_operators']}) → `quantize_dynamic` (QInt8 weights, dynamic activations).")
    lines += [
        f"- Medians over {s['runs']} runs; agreement = same argmax as {REFERENCE} on the same texts. The weights are random, "
        "so logits are small and close together: agreement of reduced precisions here is a stress test, not the accuracy "
        "of a trained model.",
        "",
        "## (a) Seed workload: batch 1, one sentence per request",
        "",
        "The five seed sentences (issue 3) cycled; one request = tokenize + forward of one text. Python peers tokenize "
        "with the transformers fast tokenizer, senti with its own.",
        "",
        *seed_table(res["seed"]),
        "",
        "## (b) Real traffic: throughput on test.jsonl",
        "",
        f"First {s['texts'] or 'all'} texts of `{Path(s['data']).name}`, truncated at 128 tokens. Every contender gets the "
        "same best-effort batching: each run tokenizes all texts, sorts them by length and cuts batches of at most 64 "
        "texts and 8192 padded tokens (count × longest); Python peers pad each batch to its own longest text, senti packs "
        "sequences without padding. Figures include tokenization.",
        "",
        *traffic_table(res["traffic"]),
        "",
        "## (c) HTTP end to end (`senti serve`)",
        "",
        *http_tables(res["http"], res["traffic"]),
        "",
        "## Commands of each contender",
        "",
    ]
    for w in ("seed", "traffic"):
        for name, e in res[w].items():
            if e.get("command"):
                lines.append(f"- {w} / {name}: `{e['command']}`")
    lines.append("")
    return "\n".join(lines)


def chart(res: dict, path: Path) -> str | None:
    """Bar charts: seed p50 latency, traffic texts/s, HTTP requests/s at 64 connections. Returns an error or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return str(e)
    panels = []
    seed = [(e["label"], _seed_p50(e)) for e in res["seed"].values() if e.get("available")]
    if seed:
        panels.append(("(a) seed, batch 1: p50 latency (ms, lower is better)", seed))
    traffic = [(e["label"], _tps(e)) for e in res["traffic"].values() if e.get("available")]
    if traffic:
        panels.append(("(b) test.jsonl throughput (texts/s, higher is better)", traffic))
    http = res.get("http", {})
    if http.get("available"):
        bars = []
        for name, e in http["servers"].items():
            for w in e.get("wrk", []):
                bars.append((f"{name} c={w['connections']}", w["requests_per_s"]))
        if bars:
            panels.append(("(c) HTTP POST /predict (requests/s, higher is better)", bars))
    if not panels:
        return "no results to draw"
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.2 + 0.45 * sum(len(p[1]) for p in panels)), squeeze=False)
    for ax, (title, bars) in zip(axes[:, 0], panels):
        labels = [b[0] for b in bars]
        values = [b[1] for b in bars]
        colors = ["#d62728" if l.startswith("senti") else "#7f7f7f" for l in labels]
        ax.barh(labels, values, color=colors)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10, loc="left")
        for i, val in enumerate(values):
            ax.text(val, i, f" {val:.3g}", va="center", fontsize=8)
        ax.margins(x=0.15)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"senti bench, {res['environment']['cpu_model']}, {res['settings']['threads']} threads, {res['started']}",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
