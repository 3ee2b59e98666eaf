#!/usr/bin/env python3
"""ELECTRA pre-training (replaced-token detection) of a small BERT encoder on CPU; stops and resumes.

A small generator (a BertForMaskedLM sharing the discriminator's embeddings, --gen-layers deep) fills in
whole-word-masked positions (jieba words, from prep_pretrain.py) with samples; the discriminator (a plain
BERT encoder, the artefact) learns to tell for EVERY token whether it was replaced, so it gets a training
signal from all tokens, not only the 15% masked ones. Loss = generator MLM loss + --disc-weight x
discriminator BCE (Clark et al. 2020).

The learning rate follows wall time (warm-up, then linear decay to 0 at --time-budget seconds of training,
summed over resumed parts), so a run on a slow or shared machine still ends annealed. A checkpoint
(WORKDIR/ckpt.pt: models, optimiser, data cursor, elapsed time) is written every --ckpt-every-s seconds and
at the end; --resume continues from it. The dev set (last sequences of packed.pt) is scored every
--eval-every-s: generator MLM loss/accuracy and discriminator loss/accuracy vs tokens seen
(WORKDIR/curve.jsonl). Encoder snapshots (HF BertModel folders with vocab, loadable by
BertForSequenceClassification.from_pretrained) go to WORKDIR/encoder_at_<tokens>M at --snapshot-at-s and
to WORKDIR/encoder at the end.

  python tools/train/pretrain.py --data tools/work/pre --workdir tools/work/electra --time-budget 3600
  python tools/train/pretrain.py --data tools/work/pre --workdir tools/work/electra --resume   # continue
"""
import argparse, json, os, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from transformers import BertConfig, BertModel, BertForMaskedLM

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4


def log(msg, fh):
    s = time.strftime("%H:%M:%S ") + msg
    print(s, flush=True); fh.write(s + "\n"); fh.flush()


def wwm_mask(ids, word_start, p, gen):
    """Whole-word masking: each word (a run of tokens that starts at a word_start) is chosen with probability p."""
    cand = ids > MASK
    wid = torch.cumsum(word_start.long(), dim=1)  # word index within the row
    pick = torch.rand(ids.shape[0], ids.shape[1] + 1, generator=gen) < p
    return pick.gather(1, wid) & cand


def token_mask(ids, p, gen):
    return (torch.rand(ids.shape, generator=gen) < p) & (ids > MASK)


class Electra(nn.Module):
    def __init__(self, V, a):
        super().__init__()
        dcfg = BertConfig(vocab_size=V, hidden_size=a.hidden, num_hidden_layers=a.layers, num_attention_heads=a.heads,
                          intermediate_size=a.inter, max_position_embeddings=a.max_pos, pad_token_id=PAD)
        gcfg = BertConfig(vocab_size=V, hidden_size=a.hidden, num_hidden_layers=a.gen_layers,
                          num_attention_heads=a.heads, intermediate_size=a.inter, max_position_embeddings=a.max_pos,
                          pad_token_id=PAD)
        self.disc = BertModel(dcfg, add_pooling_layer=False)
        self.head = nn.Sequential(nn.Linear(a.hidden, a.hidden), nn.GELU(), nn.Linear(a.hidden, 1))
        self.gen = BertForMaskedLM(gcfg)
        # share all embeddings (tokens, positions, types, LayerNorm) and tie the generator's output layer to them
        self.gen.bert.embeddings = self.disc.embeddings
        self.gen.cls.predictions.decoder.weight = self.disc.embeddings.word_embeddings.weight

    def forward(self, ids, att, sel, gen_rng):
        masked = ids.masked_fill(sel, MASK)
        h = self.gen.bert(input_ids=masked, attention_mask=att).last_hidden_state
        glog = self.gen.cls(h[sel]).float()
        gen_loss = F.cross_entropy(glog, ids[sel])
        with torch.no_grad():
            u = torch.rand(glog.shape, generator=gen_rng).clamp_(1e-9, 1.0)
            sampled = (glog - torch.log(-torch.log(u))).argmax(-1)  # Gumbel-max sample from the generator
        dins = ids.clone()
        dins[sel] = sampled
        replaced = (dins != ids).float()
        dh = self.disc(input_ids=dins, attention_mask=att).last_hidden_state
        dlog = self.head(dh).squeeze(-1).float()
        w = att.float()
        disc_loss = (F.binary_cross_entropy_with_logits(dlog, replaced, reduction="none") * w).sum() / w.sum()
        with torch.no_grad():
            gen_acc = (glog.argmax(-1) == ids[sel]).float().mean()
            disc_acc = (((dlog > 0).float() == replaced).float() * w).sum() / w.sum()
            rep_rate = (replaced * w).sum() / w.sum()
        return gen_loss, disc_loss, {"gen_acc": gen_acc.item(), "disc_acc": disc_acc.item(), "replaced": rep_rate.item()}


def save_encoder(model, vocab, path, max_len):
    model.disc.save_pretrained(path, safe_serialization=True)
    with open(vocab, encoding="utf-8") as f, open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as g:
        g.write(f.read())
    json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "model_max_length": max_len,
               "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}, open(os.path.join(path, "tokenizer_config.json"), "w"), indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder from prep_pretrain.py (packed.pt, vocab.txt)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=1024)
    ap.add_argument("--gen-layers", type=int, default=1)
    ap.add_argument("--max-pos", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=0, help="train on the first N tokens of each sequence (0: all)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--mask-prob", type=float, default=0.15)
    ap.add_argument("--wwm", type=int, default=1, help="1: whole-word masking (jieba words); 0: single tokens")
    ap.add_argument("--disc-weight", type=float, default=50.0)
    ap.add_argument("--time-budget", type=float, default=3600, help="seconds of training in total (over resumes)")
    ap.add_argument("--eval-every-s", type=float, default=300)
    ap.add_argument("--ckpt-every-s", type=float, default=300)
    ap.add_argument("--snapshot-at-s", default="", help="comma-separated elapsed seconds at which to save an encoder snapshot")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--bench-steps", type=int, default=0, help="measure tokens/s over N steps and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.workdir, exist_ok=True)
    fh = open(os.path.join(a.workdir, "train.log"), "a")
    ck_path = os.path.join(a.workdir, "ckpt.pt")
    ck = torch.load(ck_path, weights_only=False) if a.resume else None
    if ck:
        saved = ck["args"]
        for k in ("layers", "hidden", "heads", "inter", "gen_layers", "max_pos", "seq_len", "batch", "wwm", "seed"):
            setattr(a, k, saved[k])  # the shape and data order of a resumed run are those of its first part
    log("args " + json.dumps(vars(a)), fh)
    d = torch.load(os.path.join(a.data, "packed.pt"))
    ids_all, ws_all, n_dev, V = d["ids"].long(), d["word_start"], d["n_dev"], d["vocab_size"]
    if a.seq_len:
        ids_all, ws_all = ids_all[:, :a.seq_len].clone(), ws_all[:, :a.seq_len].clone()
        ids_all[:, -1] = torch.where(ids_all[:, -1] != PAD, SEP, PAD)
    tr_ids, tr_ws = ids_all[:-n_dev], ws_all[:-n_dev]
    dv_ids, dv_ws = ids_all[-n_dev:], ws_all[-n_dev:]
    N = tr_ids.shape[0]
    log(f"data: {N} train sequences x {tr_ids.shape[1]} ({int((tr_ids != 0).sum()) / 1e6:.1f} M tokens), {n_dev} dev, vocab {V}", fh)
    torch.manual_seed(a.seed)
    model = Electra(V, a)
    n_disc = sum(p.numel() for p in model.disc.parameters())
    n_all = sum(p.numel() for p in model.parameters())
    log(f"discriminator (the encoder) {n_disc / 1e6:.2f} M params; with generator and head {n_all / 1e6:.2f} M", fh)
    nd = ("bias", "LayerNorm.weight")
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if not n.endswith(nd)], "weight_decay": a.wd},
                             {"params": [p for n, p in params if n.endswith(nd)], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-6)
    st = {"step": 0, "elapsed": 0.0, "tokens": 0, "epoch": 0, "cursor": 0, "next_eval": 0.0, "next_ckpt": a.ckpt_every_s,
          "snap_done": []}
    gen = torch.Generator().manual_seed(a.seed)
    if ck:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        st = ck["state"]
        gen.set_state(ck["gen_rng"])
        log(f"resumed at step {st['step']}, {st['tokens'] / 1e6:.2f} M tokens, {st['elapsed']:.0f} s", fh)
    snaps = sorted(float(s) for s in a.snapshot_at_s.split(",") if s.strip())
    perm = torch.randperm(N, generator=torch.Generator().manual_seed(a.seed + st["epoch"]))

    def checkpoint():
        tmp = ck_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": st, "gen_rng": gen.get_state(),
                    "args": vars(a)}, tmp)
        os.replace(tmp, ck_path)

    @torch.no_grad()
    def evaluate():
        model.eval()
        g = torch.Generator().manual_seed(1234)  # the same masks and samples at every evaluation
        tot = {"gen_loss": 0.0, "disc_loss": 0.0, "gen_acc": 0.0, "disc_acc": 0.0, "replaced": 0.0}
        nb = 0
        for c in range(0, dv_ids.shape[0], 64):
            x, w = dv_ids[c:c + 64], dv_ws[c:c + 64]
            att = (x != PAD).long()
            sel = wwm_mask(x, w, a.mask_prob, g) if a.wwm else token_mask(x, a.mask_prob, g)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
                gl, dl, m = model(x, att, sel, g)
            tot["gen_loss"] += gl.item(); tot["disc_loss"] += dl.item()
            for k in ("gen_acc", "disc_acc", "replaced"): tot[k] += m[k]
            nb += 1
        model.train()
        return {k: v / nb for k, v in tot.items()}

    model.train()
    t_last = time.time(); t_log = time.time(); run = [0.0, 0.0, 0]; bench_t0 = None
    while st["elapsed"] < a.time_budget:
        if st["elapsed"] >= st["next_eval"]:
            te = time.time()
            r = evaluate()
            r.update(step=st["step"], tokens=st["tokens"], elapsed=round(st["elapsed"], 1))
            with open(os.path.join(a.workdir, "curve.jsonl"), "a") as f:
                f.write(json.dumps(r) + "\n")
            log(f"DEV step {st['step']} tokens {st['tokens'] / 1e6:.2f}M: gen(MLM) loss {r['gen_loss']:.4f} acc {r['gen_acc']:.4f}, "
                f"disc loss {r['disc_loss']:.4f} acc {r['disc_acc']:.4f} (replaced {r['replaced']:.3f}) [{time.time() - te:.0f}s]", fh)
            st["next_eval"] += a.eval_every_s
            t_last = time.time()
        if st["cursor"] + a.batch > N:
            st["epoch"] += 1; st["cursor"] = 0
            perm = torch.randperm(N, generator=torch.Generator().manual_seed(a.seed + st["epoch"]))
            log(f"epoch {st['epoch']} starts", fh)
        b = perm[st["cursor"]:st["cursor"] + a.batch]
        st["cursor"] += a.batch
        x, w = tr_ids[b], tr_ws[b]
        L = int((x != PAD).sum(1).max())
        x, w = x[:, :L], w[:, :L]
        att = (x != PAD).long()
        sel = wwm_mask(x, w, a.mask_prob, gen) if a.wwm else token_mask(x, a.mask_prob, gen)
        frac_left = max(0.0, 1.0 - st["elapsed"] / a.time_budget)
        lr = a.lr * min((st["step"] + 1) / a.warmup_steps, frac_left)
        for g_ in opt.param_groups: g_["lr"] = lr
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
            gl, dl, m = model(x, att, sel, gen)
        loss = gl + a.disc_weight * dl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        st["step"] += 1; st["tokens"] += int(att.sum())
        now = time.time(); st["elapsed"] += now - t_last; t_last = now
        run[0] += gl.item(); run[1] += dl.item(); run[2] += 1
        if a.bench_steps:
            if st["step"] == 3: bench_t0 = (now, st["tokens"])
            if st["step"] == 3 + a.bench_steps:
                dt = now - bench_t0[0]; dtok = st["tokens"] - bench_t0[1]
                log(f"BENCH {a.bench_steps} steps: {dt / a.bench_steps:.3f} s/step, {dtok / dt:.0f} tokens/s (threads {a.threads})", fh)
                return
        if st["step"] % 50 == 0:
            log(f"step {st['step']} tokens {st['tokens'] / 1e6:.2f}M elapsed {st['elapsed']:.0f}s lr {lr:.2e} gen {run[0] / run[2]:.3f} "
                f"disc {run[1] / run[2]:.4f} ({(time.time() - t_log) / run[2]:.2f} s/step)", fh)
            run = [0.0, 0.0, 0]; t_log = time.time()
        for s in snaps:
            if s not in st["snap_done"] and st["elapsed"] >= s:
                p = os.path.join(a.workdir, f"encoder_at_{st['tokens'] / 1e6:.1f}M")
                save_encoder(model, os.path.join(a.data, "vocab.txt"), p, a.max_pos)
                st["snap_done"].append(s)
                log(f"snapshot -> {p}", fh)
        if st["elapsed"] >= st["next_ckpt"]:
            checkpoint(); st["next_ckpt"] += a.ckpt_every_s
            t_last = time.time()
    r = evaluate()
    r.update(step=st["step"], tokens=st["tokens"], elapsed=round(st["elapsed"], 1), final=True)
    with open(os.path.join(a.workdir, "curve.jsonl"), "a") as f:
        f.write(json.dumps(r) + "\n")
    log(f"DEV final step {st['step']} tokens {st['tokens'] / 1e6:.2f}M: gen(MLM) loss {r['gen_loss']:.4f} acc {r['gen_acc']:.4f}, "
        f"disc loss {r['disc_loss']:.4f} acc {r['disc_acc']:.4f}", fh)
    checkpoint()
    p = os.path.join(a.workdir, "encoder")
    save_encoder(model, os.path.join(a.data, "vocab.txt"), p, a.max_pos)
    log(f"done: {st['tokens'] / 1e6:.2f} M tokens in {st['elapsed']:.0f} s; encoder -> {p}", fh)


if __name__ == "__main__":
    main()
