"""The Python package and `senti predict` are the same C++ code: same texts, same options, same answers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import senti
from conftest import TINY_MODEL
from review_texts import review_texts


CLI_BATCH = 32  # senti predict's --batch-size; the same batches give bit-identical results


def cli_predict(cli: Path, texts: list[str], *args: str) -> list[dict]:
    done = subprocess.run([str(cli), "predict", "--threads", "1", "--batch-size", str(CLI_BATCH), *args], input="\n".join(texts) + "\n",
                          capture_output=True, text=True, check=True, timeout=300)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(texts), done.stderr
    return lines


@pytest.mark.parametrize("model, precision", [(None, "auto"), (None, "fp32"), (TINY_MODEL, "auto")])
def test_scores_equal_senti_predict(senti_cli: Path, model: Path | None, precision: str) -> None:
    texts = review_texts(300, seed=3)
    args = ["--precision", precision] + (["--model", str(model)] if model else [])
    expected = cli_predict(senti_cli, texts, *args)
    clf = senti.Classifier.load(model, precision=precision, threads=1)
    actual = clf(texts, batch_size=CLI_BATCH)
    for i, (e, a) in enumerate(zip(expected, actual)):
        assert e["text"] == texts[i]
        assert a["label"] == e["label"], (i, texts[i])
        # the CLI prints float32 values in their shortest decimal form: compare as float32
        assert np.float32(a["score"]) == np.float32(e["score"]), (i, texts[i])
        assert {k: np.float32(v) for k, v in a["scores"].items()} == {k: np.float32(v) for k, v in e["scores"].items()}
        assert len(clf.tokenize(texts[i])["input_ids"]) == e["tokens"]
