#!/usr/bin/env python3
"""Train a small BERT sentiment classifier from scratch on CPU.

Phases: optional masked-LM pre-training on train texts (--mlm-epochs), then
sequence-classification fine-tuning (--epochs). Best dev checkpoint is kept.
Inputs come from tools/train/build_vocab.py (tools/work/tok.pt + vocab.txt).
"""
import argparse, json, math, os, random, time
import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForSequenceClassification, BertForMaskedLM

def log(msg, fh):
    s = time.strftime("%H:%M:%S ") + msg
    print(s, flush=True); fh.write(s + "\n"); fh.flush()

def batches(ids, labels, max_tokens, max_bs, shuffle, rng):
    """Length-bucketed batches: sort by length inside chunks of 100 batches, cap tokens/batch."""
    idx = list(range(len(ids)))
    if shuffle:
        rng.shuffle(idx)
    chunk = max_bs * 100
    out = []
    for c in range(0, len(idx), chunk):
        part = sorted(idx[c:c + chunk], key=lambda i: len(ids[i]))
        cur = []; cur_max = 0
        for i in part:
            L = len(ids[i])
            if cur and (max(cur_max, L) * (len(cur) + 1) > max_tokens or len(cur) >= max_bs):
                out.append(cur); cur = []; cur_max = 0
            cur.append(i); cur_max = max(cur_max, L)
        if cur: out.append(cur)
    if shuffle:
        rng.shuffle(out)
    return out

def collate(ids, idxs):
    L = max(len(ids[i]) for i in idxs)
    x = torch.zeros(len(idxs), L, dtype=torch.long)
    m = torch.zeros(len(idxs), L, dtype=torch.long)
    for r, i in enumerate(idxs):
        s = ids[i]; x[r, :len(s)] = torch.tensor(s); m[r, :len(s)] = 1
    return x, m

def mask_tokens(x, m, vocab_size, gen, p=0.15, special_max=4):
    labels = x.clone()
    cand = (m == 1) & (x > special_max)
    prob = torch.rand(x.shape, generator=gen)
    sel = cand & (prob < p)
    labels[~sel] = -100
    r = torch.rand(x.shape, generator=gen)
    x = x.clone()
    x[sel & (r < 0.8)] = 4  # [MASK]
    rnd = sel & (r >= 0.8) & (r < 0.9)
    x[rnd] = torch.randint(special_max + 1, vocab_size, x.shape, generator=gen)[rnd]
    return x, labels

def lr_lambda(warm, total):
    def f(step):
        if step < warm: return (step + 1) / warm
        return max(0.0, (total - step) / max(1, total - warm))
    return f

@torch.no_grad()
def evaluate(model, ids, labels, args):
    model.eval()
    preds = []
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    res = {}
    for c in range(0, len(order), 128):
        b = order[c:c + 128]
        x, m = collate(ids, b)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            lg = model(input_ids=x, attention_mask=m).logits.float()
        for i, p in zip(b, lg.argmax(-1).tolist()): res[i] = p
    model.train()
    p = np.array([res[i] for i in range(len(ids))]); y = np.array(labels)
    acc = float((p == y).mean())
    f1s = []
    for c in (0, 1):
        tp = ((p == c) & (y == c)).sum(); fp = ((p == c) & (y != c)).sum(); fn = ((p != c) & (y == c)).sum()
        f1s.append(2 * tp / max(1, 2 * tp + fp + fn))
    return acc, float(np.mean(f1s))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tok", default="tools/work/tok.pt")
    ap.add_argument("--workdir", default="tools/work/run")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=1024)
    ap.add_argument("--max-pos", type=int, default=512)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--mlm-epochs", type=float, default=0)
    ap.add_argument("--mlm-lr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--max-tokens", type=int, default=4096)
    ap.add_argument("--max-bs", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench-steps", type=int, default=0)
    ap.add_argument("--evals-per-epoch", type=int, default=1)
    ap.add_argument("--time-budget", type=float, default=0,
                    help="seconds for the classification phase; >0: the LR decays linearly with elapsed wall "
                         "time (not steps) and training stops when the budget is spent, so a slow or shared "
                         "machine still ends with a fully annealed model")
    ap.add_argument("--init", default="", help="start the classification phase from this checkpoint folder")
    ap.add_argument("--warmup-steps", type=int, default=300, help="with --time-budget")
    ap.add_argument("--eval-every-s", type=float, default=0, help="with --time-budget: evaluate dev this often")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    random.seed(a.seed); np.random.seed(a.seed); torch.manual_seed(a.seed)
    os.makedirs(a.workdir, exist_ok=True)
    fh = open(os.path.join(a.workdir, "train.log"), "a")
    log("args " + json.dumps(vars(a)), fh)
    d = torch.load(a.tok)
    V = d["vocab_size"]
    tr, dv = d["train"], d["dev"]
    cfg = BertConfig(vocab_size=V, hidden_size=a.hidden, num_hidden_layers=a.layers,
                     num_attention_heads=a.heads, intermediate_size=a.inter,
                     max_position_embeddings=a.max_pos, hidden_dropout_prob=a.dropout,
                     attention_probs_dropout_prob=a.dropout, num_labels=2, pad_token_id=0)
    rng = random.Random(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    times = {}
    bert_state = None
    # ---------------- MLM phase ----------------
    if a.mlm_epochs > 0:
        t0 = time.time()
        mlm = BertForMaskedLM(cfg)
        log(f"MLM params {sum(p.numel() for p in mlm.parameters())/1e6:.2f}M", fh)
        nb = len(batches(tr["ids"], None, a.max_tokens, a.max_bs, False, rng))
        total = int(nb * a.mlm_epochs)
        opt = torch.optim.AdamW(mlm.parameters(), lr=a.mlm_lr, weight_decay=a.wd, betas=(0.9, 0.98), eps=1e-6)
        sch = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(int(a.warmup * total), total))
        step = 0; ep = 0; run_loss = 0.0; tl = time.time()
        mlm.train()
        while step < total:
            for b in batches(tr["ids"], None, a.max_tokens, a.max_bs, True, rng):
                if step >= total: break
                x, m = collate(tr["ids"], b)
                xi, lab = mask_tokens(x, m, V, gen)
                sel = lab != -100
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
                    h = mlm.bert(input_ids=xi, attention_mask=m).last_hidden_state
                    logits = mlm.cls(h[sel])  # MLM head only on masked positions (saves compute)
                loss = F.cross_entropy(logits.float(), lab[sel])
                opt.zero_grad(set_to_none=True); loss.backward()
                torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
                opt.step(); sch.step(); step += 1; run_loss += loss.item()
                if step % 100 == 0:
                    log(f"mlm step {step}/{total} loss {run_loss/100:.4f} lr {sch.get_last_lr()[0]:.2e} {(time.time()-tl)/100:.3f}s/step", fh)
                    run_loss = 0.0; tl = time.time()
                if a.bench_steps and step >= a.bench_steps:
                    log(f"bench done {(time.time()-t0)/step:.3f}s/step", fh); return
            ep += 1
            log(f"mlm epoch {ep} done step {step} elapsed {time.time()-t0:.0f}s", fh)
        bert_state = mlm.bert.state_dict()
        torch.save(bert_state, os.path.join(a.workdir, "mlm_bert.pt"))
        times["mlm_s"] = time.time() - t0
        log(f"MLM phase done in {times['mlm_s']:.0f}s", fh)
        del mlm, opt
    # ---------------- classification ----------------
    t0 = time.time()
    torch.manual_seed(a.seed + 1)
    model = BertForSequenceClassification.from_pretrained(a.init) if a.init else BertForSequenceClassification(cfg)
    if a.init:
        log(f"initialised from {a.init}", fh)
    if bert_state is not None:
        missing, unexpected = model.bert.load_state_dict(bert_state, strict=False)
        log(f"loaded MLM encoder (missing {missing}, unexpected {unexpected})", fh)
    log(f"CLS params {sum(p.numel() for p in model.parameters())/1e6:.2f}M", fh)
    nb = len(batches(tr["ids"], tr["labels"], a.max_tokens, a.max_bs, False, rng))
    total = int(nb * a.epochs)
    eval_every = max(1, nb // a.evals_per_epoch)
    nd = ["bias", "LayerNorm.weight"]
    groups = [{"params": [p for n, p in model.named_parameters() if not any(x in n for x in nd)], "weight_decay": a.wd},
              {"params": [p for n, p in model.named_parameters() if any(x in n for x in nd)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    if a.time_budget > 0:
        total = 10**9  # bounded by wall time instead
        warm_steps = a.warmup_steps
        def time_lr(step):
            frac_left = max(0.0, 1.0 - (time.time() - t0) / a.time_budget)
            return min((step + 1) / warm_steps, frac_left)
        sch = torch.optim.lr_scheduler.LambdaLR(opt, time_lr)
        next_eval = a.eval_every_s
    else:
        sch = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(int(a.warmup * total), total))
    y = torch.tensor(tr["labels"])
    step = 0; ep = 0; run_loss = 0.0; tl = time.time(); best = (-1, 0, 0)
    model.train()
    while step < total:
        for b in batches(tr["ids"], tr["labels"], a.max_tokens, a.max_bs, True, rng):
            if step >= total: break
            x, m = collate(tr["ids"], b)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
                lg = model(input_ids=x, attention_mask=m).logits
            loss = F.cross_entropy(lg.float(), y[b])
            opt.zero_grad(set_to_none=True); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sch.step(); step += 1; run_loss += loss.item()
            if step % 100 == 0:
                log(f"cls step {step}/{total} loss {run_loss/100:.4f} lr {sch.get_last_lr()[0]:.2e} {(time.time()-tl)/100:.3f}s/step", fh)
                run_loss = 0.0; tl = time.time()
            if a.bench_steps and step >= a.bench_steps:
                log(f"bench done {(time.time()-t0)/step:.3f}s/step", fh); return
            out_of_time = a.time_budget > 0 and time.time() - t0 >= a.time_budget
            if a.time_budget > 0:
                do_eval = out_of_time or time.time() - t0 >= next_eval
                if do_eval: next_eval += a.eval_every_s
            else:
                do_eval = step % eval_every == 0 or step == total
            if do_eval:
                te = time.time()
                acc, f1 = evaluate(model, dv["ids"], dv["labels"], a)
                log(f"EVAL step {step} epoch {step/nb:.2f} dev_acc {acc:.4f} dev_macroF1 {f1:.4f} "
                    f"(eval {time.time()-te:.0f}s, phase elapsed {time.time()-t0:.0f}s)", fh)
                if acc > best[0]:
                    best = (acc, f1, step)
                    model.save_pretrained(os.path.join(a.workdir, "best"), safe_serialization=True)
                    log(f"  new best -> {a.workdir}/best", fh)
            if out_of_time:
                total = step
                break
        ep += 1
        log(f"epoch {ep} done at step {step} ({time.time()-t0:.0f}s)", fh)
    times["cls_s"] = time.time() - t0
    log(f"CLS phase done in {times['cls_s']:.0f}s; best dev acc {best[0]:.4f} F1 {best[1]:.4f} at step {best[2]}", fh)
    json.dump({"times": times, "best_dev_acc": best[0], "best_dev_f1": best[1], "best_step": best[2],
               "steps_per_epoch": nb, "args": vars(a)}, open(os.path.join(a.workdir, "summary.json"), "w"), indent=1)

if __name__ == "__main__":
    main()
