"""Threads: the GIL is released while senti computes, calls from several threads are safe, and the
threads option is honoured."""

from __future__ import annotations

import threading
import time

import numpy as np

import senti
from review_texts import review_texts


def test_gil_is_released_during_compute(clf: senti.Classifier) -> None:
    texts = review_texts(1000, seed=5)
    clf.logits(texts[:10])  # warm up
    done = threading.Event()
    result: list[np.ndarray] = []

    def classify() -> None:
        result.append(clf.logits(texts, batch_size=len(texts)))  # one chunk: one long C++ call
        done.set()

    ticks: list[float] = []
    worker = threading.Thread(target=classify)
    start = time.perf_counter()
    worker.start()
    while not done.is_set():  # this thread must keep running while the worker computes
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    worker.join()
    assert result and result[0].shape == (1000, 2)
    gaps = np.diff([start, *ticks, start + elapsed])
    assert elapsed > 0.3, f"the batch took only {elapsed:.3f} s; too short to tell"
    # with the GIL held, this thread would stall for the whole call; released, it ticks every few ms
    assert len(ticks) > 50 and gaps.max() < elapsed / 3, (len(ticks), gaps.max(), elapsed)


def test_concurrent_calls_from_threads_give_the_same_answers(clf: senti.Classifier) -> None:
    texts = review_texts(200, seed=6)
    # the same chunks one after another: the threads must give exactly these
    expected = np.concatenate([clf.logits(texts[k * 50 : (k + 1) * 50], batch_size=16) for k in range(4)])
    results: dict[int, np.ndarray] = {}

    def run(k: int) -> None:
        results[k] = clf.logits(texts[k * 50 : (k + 1) * 50], batch_size=16)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(np.concatenate([results[k] for k in range(4)]), expected)


def test_thread_counts_give_the_same_labels(clf: senti.Classifier) -> None:
    texts = review_texts(60, seed=7)
    two = senti.Classifier.load(threads=2)
    every_core = senti.Classifier.load(threads=0)
    assert two.threads == 2 and every_core.threads == 0
    one_labels = [p["label"] for p in clf(texts)]
    assert [p["label"] for p in two(texts)] == one_labels
    assert [p["label"] for p in every_core(texts)] == one_labels
    np.testing.assert_allclose(two.logits(texts), clf.logits(texts), atol=1e-4)
