"""Shared helpers of the training tools: labelled JSONL files, source names, metrics."""
import json, os
import numpy as np


# Splits reported on their own, outside the macro-average over test splits: text damaged at the source,
# and the hand-written challenge set.
EXCLUDE_FROM_AVG = {"dianping_meituan_degraded", "challenge"}


def source_name(path):
    """'…/sentiment/train.jsonl' -> 'sentiment'; '…/labelled/jd_reviews_goods_zh.test.jsonl' -> 'jd_reviews_goods_zh'."""
    base = os.path.basename(path)
    for kind in ("train", "dev", "test"):
        if base == f"{kind}.jsonl":
            return os.path.basename(os.path.dirname(os.path.abspath(path)))
        if base.endswith(f".{kind}.jsonl"):
            return base[: -len(f".{kind}.jsonl")]
    return base[: -len(".jsonl")] if base.endswith(".jsonl") else base


def read_labelled(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                texts.append(r["text"]); labels.append(int(r["label"]))
    return texts, np.array(labels)


def acc_f1(pred, y):
    pred, y = np.asarray(pred), np.asarray(y)
    f1 = []
    for c in (0, 1):
        tp = ((pred == c) & (y == c)).sum(); fp = ((pred == c) & (y != c)).sum(); fn = ((pred != c) & (y == c)).sum()
        f1.append(2 * tp / max(1, 2 * tp + fp + fn))
    return float((pred == y).mean()), float(np.mean(f1))


def ece(prob_pos, y, bins=15):
    """Expected calibration error of the predicted class's probability (equal-width bins)."""
    p = np.asarray(prob_pos, dtype=np.float64); y = np.asarray(y)
    conf = np.maximum(p, 1 - p); correct = ((p >= 0.5).astype(int) == y)
    e = 0.0
    for lo in np.linspace(0.5, 1.0, bins, endpoint=False):
        hi = lo + 0.5 / bins
        m = (conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)
