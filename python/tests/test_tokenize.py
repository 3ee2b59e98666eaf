"""Classifier.tokenize against the Hugging Face BertTokenizer goldens the C++ tests use
(tests/data/tokenizer/hard_cases.jsonl, made by tools/make_tokenizer_goldens.py with the
bert-base-chinese vocab, which is the vocab of tests/data/models/tiny)."""

from __future__ import annotations

import json

import pytest

import senti
from conftest import TEST_DATA


def default_config_cases() -> list[dict]:
    rows = [json.loads(line) for line in (TEST_DATA / "tokenizer" / "hard_cases.jsonl").read_text(encoding="utf-8").split("\n") if line]
    # The model's tokenizer has the default BertTokenizer settings (tiny's tokenizer_config.json);
    # the cases with other settings are the C++ tests' business.
    return [r for r in rows if not r.get("header") and r["cfg"] == {}]


CASES = default_config_cases()


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 400
    assert sum("pair" in c for c in CASES) >= 100
    assert sum("max_length" in c["call"] for c in CASES) >= 300


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['name']}" for i, c in enumerate(CASES)])
def test_matches_hugging_face(tiny: senti.Classifier, case: dict) -> None:
    call = case["call"]
    max_length = call.get("max_length")
    encoding = tiny.tokenize(case["text"], case.get("pair"), truncation=max_length is not None, max_length=max_length)
    assert encoding["input_ids"] == case["ids"]
    assert encoding["token_type_ids"] == case["type_ids"]
    assert encoding["tokens"] == [tiny_vocab()[i] for i in case["ids"]]
    if "tokens" in case and "pair" not in case and max_length is None:
        assert encoding["tokens"][1:-1] == case["tokens"]  # HF's tokenize(): word pieces without [CLS]/[SEP]


_VOCAB: list[str] = []


def tiny_vocab() -> list[str]:
    if not _VOCAB:
        _VOCAB.extend((TEST_DATA / "models" / "tiny" / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    return _VOCAB


def test_the_default_model_tokenizes_with_its_own_vocab(clf: senti.Classifier) -> None:
    encoding = clf.tokenize("这件衣服的质量真的太棒了，非常满意！")
    assert encoding["input_ids"] == [2, 4076, 279, 3681, 2016, 2820, 3913, 4201, 2856, 2820, 1051, 2146, 220, 4631,
                                     4402, 1372, 2468, 1594, 4621, 3]  # tests/data/goldens/senti_zh_sentiment_logits.json
    assert encoding["tokens"][:3] == ["[CLS]", "这", "件"] and not encoding["truncated"]
