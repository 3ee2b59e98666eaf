#!/usr/bin/env python3
"""Fine-tune a BERT encoder (or a model of the same shape from scratch) for 2-class sentiment on many domains.

Training files are labelled JSONL ({"text", "label": 0|1}); each file is a source (domain). Batches are
drawn from a mixture that balances the sources: source s is picked with probability proportional to
n_s ** --balance-alpha (1: proportional to size, 0: uniform over sources), then a text uniformly from it.
The learning rate warms up and then decays linearly with wall time to 0 at --time-budget seconds (a slow or
shared machine still ends annealed); the dev files are scored at the end (and every --eval-every-s), and
the model with the best mean dev accuracy over the sources is kept in WORKDIR/model (an HF
BertForSequenceClassification folder with vocab.txt, labels and display labels).

  # from the pre-trained encoder
  python tools/train/finetune.py --init tools/work/electra/encoder --workdir tools/work/ft \
      --train DATA/sentiment/train.jsonl DATA/corpora/labelled/*.train.jsonl \
      --dev DATA/sentiment/dev.jsonl DATA/corpora/labelled/*.dev.jsonl --time-budget 900
  # the same recipe from scratch: --scratch --vocab VOCAB --layers 4 --hidden 256 (instead of --init)

Distillation (--soft FILE from teacher_labels.py, instead of --train): the labelled texts of that file are the
training sources (grouped by their "src"), each with its gold label and the teacher's P(positive) "p"; the loss
of a labelled text is (1 - w) * CE(gold) + w * CE(teacher's distribution), w = --kd-weight. Its unlabelled lines
form one more pool, drawn with probability --unlabelled-share per text, learnt from the teacher's p alone.
"""
import argparse, json, os, random, sys, time
import numpy as np
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import source_name, read_labelled, acc_f1  # noqa: E402

LABELS = {0: "negative", 1: "positive"}
DISPLAY = {"0": "负面", "1": "正面"}


def log(msg, fh):
    s = time.strftime("%H:%M:%S ") + msg
    print(s, flush=True); fh.write(s + "\n"); fh.flush()


def encode(tok, texts, max_len):
    return tok(texts, truncation=True, max_length=max_len, add_special_tokens=True)["input_ids"]


def collate(seqs):
    L = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), L, dtype=torch.long)
    for r, s in enumerate(seqs):
        x[r, :len(s)] = torch.tensor(s)
    return x, (x != 0).long()


@torch.no_grad()
def predict_logits(model, seqs, bs=64, bf16=True):
    model.eval()
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = np.zeros((len(seqs), 2), dtype=np.float32)
    for c in range(0, len(order), bs):
        b = order[c:c + bs]
        x, m = collate([seqs[i] for i in b])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            lg = model(input_ids=x, attention_mask=m).logits.float()
        out[b] = lg.numpy()
    model.train()
    return out


def save_model(model, tok_dir_vocab, path, max_len):
    model.config.id2label = dict(LABELS)
    model.config.label2id = {v: k for k, v in LABELS.items()}
    model.config.senti_label_display = dict(DISPLAY)
    model.config.problem_type = "single_label_classification"
    model.save_pretrained(path, safe_serialization=True)
    with open(tok_dir_vocab, encoding="utf-8") as f, open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as g:
        g.write(f.read())
    json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": True, "do_basic_tokenize": True,
               "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": max_len,
               "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]", "clean_up_tokenization_spaces": True},
              open(os.path.join(path, "tokenizer_config.json"), "w"), ensure_ascii=False, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", default="", help="pre-trained encoder folder (BertModel or BertFor* with vocab.txt)")
    ap.add_argument("--scratch", action="store_true", help="random initialisation of the shape below")
    ap.add_argument("--vocab", default="", help="vocab.txt (default: the --init folder's)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--inter", type=int, default=1024)
    ap.add_argument("--train", nargs="+", default=[])
    ap.add_argument("--soft", default="", help="teacher_labels.py output: labelled + unlabelled texts with teacher p")
    ap.add_argument("--kd-weight", type=float, default=0.5, help="weight of the teacher's target on labelled texts")
    ap.add_argument("--unlabelled-share", type=float, default=0.25, help="share of each batch drawn from unlabelled texts")
    ap.add_argument("--dev", nargs="+", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--max-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--wd", type=float, default=0.01)
    ap.add_argument("--warmup-steps", type=int, default=200)
    ap.add_argument("--balance-alpha", type=float, default=0.5)
    ap.add_argument("--source-weight", nargs="*", default=[], metavar="SOURCE=FACTOR",
                    help="multiply a source's sampling weight (e.g. sentiment=2), applied after --balance-alpha")
    ap.add_argument("--bucket", type=int, default=16, help="batches drawn at once and sorted by length (1: no bucketing)")
    ap.add_argument("--time-budget", type=float, default=900)
    ap.add_argument("--eval-every-s", type=float, default=0, help="0: only at the end")
    ap.add_argument("--dev-max-per-source", type=int, default=0, help="score at most N dev texts per source (0: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--serve-max-len", type=int, default=512)
    a = ap.parse_args()
    if bool(a.init) == a.scratch:
        raise SystemExit("give exactly one of --init and --scratch")
    torch.set_num_threads(a.threads)
    random.seed(a.seed); np.random.seed(a.seed); torch.manual_seed(a.seed)
    os.makedirs(a.workdir, exist_ok=True)
    fh = open(os.path.join(a.workdir, "train.log"), "a")
    log("args " + json.dumps(vars(a)), fh)
    vocab = a.vocab or os.path.join(a.init, "vocab.txt")
    if bool(a.train) == bool(a.soft):
        raise SystemExit("give exactly one of --train and --soft")
    tok = BertTokenizer(vocab, do_lower_case=True)  # positional: transformers 5 ignores vocab_file=
    if len(tok) < 100:
        raise SystemExit(f"{vocab}: the tokenizer loaded only {len(tok)} pieces")
    if a.init:
        # fp32 whatever the folder stores (a shipped model is fp16; transformers 5 would keep its dtype)
        model = BertForSequenceClassification.from_pretrained(a.init, num_labels=2, dtype=torch.float32)
    else:
        cfg = BertConfig(vocab_size=len(open(vocab, encoding="utf-8").read().splitlines()), hidden_size=a.hidden,
                         num_hidden_layers=a.layers, num_attention_heads=a.heads, intermediate_size=a.inter,
                         num_labels=2, pad_token_id=0)
        model = BertForSequenceClassification(cfg)
    log(f"model {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M params, from {a.init or 'scratch'}", fh)
    t0 = time.time()
    train = {}  # source -> (token ids, gold labels (-1: none), teacher P(positive) (nan: none))
    for p in a.train:
        X, y = read_labelled(p)
        train[source_name(p)] = (encode(tok, X, a.max_len), y, np.full(len(y), np.nan))
    unlabelled = None
    if a.soft:
        groups = {}
        with open(a.soft, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                key = r["src"] if "label" in r else None
                groups.setdefault(key, ([], [], []))
                groups[key][0].append(r["text"]); groups[key][1].append(int(r.get("label", -1))); groups[key][2].append(r["p"])
        for key, (X, y, q) in groups.items():
            entry = (encode(tok, X, a.max_len), np.array(y), np.array(q, dtype=np.float64))
            if key is None:
                unlabelled = entry
            else:
                train[key] = entry
    dev = {}
    for p in a.dev:
        X, y = read_labelled(p)
        if a.dev_max_per_source and len(X) > a.dev_max_per_source:
            idx = np.random.RandomState(0).permutation(len(X))[:a.dev_max_per_source]
            X, y = [X[i] for i in idx], y[idx]
        dev[source_name(p)] = (encode(tok, X, a.max_len), y)
    names = list(train)
    sizes = np.array([len(train[n][1]) for n in names], dtype=np.float64)
    probs = sizes ** a.balance_alpha
    for spec in a.source_weight:
        name, _, factor = spec.partition("=")
        if name not in names or not factor:
            raise SystemExit(f"--source-weight {spec}: expected SOURCE=FACTOR with SOURCE one of {', '.join(names)}")
        probs[names.index(name)] *= float(factor)
    probs /= probs.sum()
    if unlabelled is not None and a.unlabelled_share > 0:
        train["unlabelled"] = unlabelled
        names.append("unlabelled"); sizes = np.append(sizes, len(unlabelled[1]))
        probs = np.append(probs * (1 - a.unlabelled_share), a.unlabelled_share)
    log(f"tokenized in {time.time() - t0:.0f}s; sources (n, sampling p): " +
        ", ".join(f"{n} {int(s)} {p:.3f}" for n, s, p in zip(names, sizes, probs)), fh)
    nd = ("bias", "LayerNorm.weight")
    params = list(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for n, p in params if not n.endswith(nd)], "weight_decay": a.wd},
                             {"params": [p for n, p in params if n.endswith(nd)], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    rng = np.random.RandomState(a.seed)
    cursors = {n: [rng.permutation(len(train[n][1])), 0] for n in names}

    def draw(n):
        perm, c = cursors[n]
        if c >= len(perm):
            perm, c = rng.permutation(len(perm)), 0
        cursors[n] = [perm, c + 1]
        return perm[c]

    def score():
        te = time.time()
        res = {}
        for n, (seqs, y) in dev.items():
            lg = predict_logits(model, seqs, bf16=bool(a.bf16))
            res[n] = acc_f1(lg.argmax(-1), y)[0]
        mean = float(np.mean(list(res.values())))
        log(f"DEV mean acc {mean:.4f} over {len(res)} sources: " + ", ".join(f"{n} {v:.4f}" for n, v in res.items()) +
            f" [{time.time() - te:.0f}s]", fh)
        return mean, res

    best = (-1.0, None)
    model.train()
    step = 0; elapsed = 0.0; t_last = time.time(); run = 0.0; next_eval = a.eval_every_s or float("inf"); tokens = 0
    t_train = time.time()
    queue = []

    def next_batch():
        # Length bucketing: draw --bucket batches' worth of texts from the mixture, sort them by length and cut
        # them into batches served in random order (far less padding than random batches of mixed lengths).
        if not queue:
            src = rng.choice(len(names), size=a.batch * a.bucket, p=probs)
            pool = [(train[names[s]][0][i], train[names[s]][1][i], train[names[s]][2][i]) for s in src for i in [draw(names[s])]]
            pool.sort(key=lambda b: len(b[0]))
            chunks = [pool[c:c + a.batch] for c in range(0, len(pool), a.batch)]
            queue.extend(chunks[i] for i in rng.permutation(len(chunks)))
        return queue.pop()

    while elapsed < a.time_budget:
        batch = next_batch()
        x, m = collate([b[0] for b in batch])
        y = torch.tensor([int(b[1]) for b in batch])
        q = torch.tensor([float(b[2]) for b in batch])
        lr = a.lr * min((step + 1) / a.warmup_steps, max(0.0, 1 - elapsed / a.time_budget))
        for g in opt.param_groups: g["lr"] = lr
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(a.bf16)):
            lg = model(input_ids=x, attention_mask=m).logits
        if a.soft:
            # gold CE where there is a label, the teacher's soft CE where there is a p, mixed by --kd-weight
            logp = F.log_softmax(lg.float(), -1)
            has_q = ~torch.isnan(q); qq = torch.where(has_q, q, torch.zeros_like(q))
            soft = -(qq * logp[:, 1] + (1 - qq) * logp[:, 0])
            has_y = y >= 0
            gold = -logp.gather(1, y.clamp(min=0)[:, None])[:, 0]
            w_soft = torch.where(has_y, torch.full_like(q, a.kd_weight), torch.ones_like(q)) * has_q
            w_gold = torch.where(has_y, 1 - w_soft, torch.zeros_like(q))
            loss = (w_gold * gold + w_soft * soft).mean()
        else:
            loss = F.cross_entropy(lg.float(), y)
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); step += 1; run += loss.item(); tokens += int(m.sum())
        now = time.time(); elapsed += now - t_last; t_last = now
        if step % 100 == 0:
            log(f"step {step} elapsed {elapsed:.0f}s lr {lr:.2e} loss {run / 100:.4f} texts {step * a.batch} tokens {tokens / 1e6:.2f}M", fh)
            run = 0.0
        if elapsed >= next_eval:
            mean, res = score()
            if mean > best[0]:
                best = (mean, res); save_model(model, vocab, os.path.join(a.workdir, "model"), a.serve_max_len)
            next_eval += a.eval_every_s
            t_last = time.time()
    mean, res = score()
    if mean > best[0]:
        best = (mean, res); save_model(model, vocab, os.path.join(a.workdir, "model"), a.serve_max_len)
    summary = {"best_mean_dev_acc": best[0], "dev": best[1], "steps": step, "texts_seen": step * a.batch,
               "tokens_seen": tokens, "train_seconds": round(elapsed, 1), "wall_seconds": round(time.time() - t_train, 1),
               "args": vars(a)}
    json.dump(summary, open(os.path.join(a.workdir, "summary.json"), "w"), indent=1)
    log(f"done: {step} steps ({step * a.batch} texts) in {elapsed:.0f}s; best mean dev acc {best[0]:.4f} -> {a.workdir}/model", fh)


if __name__ == "__main__":
    main()
