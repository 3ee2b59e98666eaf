"""senti.Classifier: results, shapes, batching, properties, and agreement with Hugging Face goldens."""

from __future__ import annotations

import json

import numpy as np
import pytest

import senti
from conftest import TEST_DATA
from review_texts import review_texts


def test_one_text_gives_one_dict_and_a_list_gives_a_list(clf: senti.Classifier) -> None:
    one = clf("这件衣服的质量真的太棒了，非常满意！")
    assert set(one) == {"label", "score", "scores"}
    assert one["label"] == "positive"
    assert one["score"] == max(one["scores"].values())
    assert list(one["scores"]) == ["negative", "positive"]
    assert sum(one["scores"].values()) == pytest.approx(1.0, abs=1e-5)

    many = clf(["很好", "太差了", "物流太慢了，等了一个星期"])
    assert [p["label"] for p in many] == ["positive", "negative", "negative"]
    assert many[0]["scores"] == pytest.approx(clf("很好")["scores"], abs=1e-5)
    assert clf(("很好", "太差了"))[1]["label"] == clf(iter(["太差了"]))[0]["label"] == "negative"  # any iterable


def test_empty_batch(clf: senti.Classifier) -> None:
    assert clf([]) == []
    logits = clf.logits([])
    assert logits.shape == (0, 2) and logits.dtype == np.float32


def test_empty_text_is_classified(clf: senti.Classifier) -> None:
    assert clf.tokenize("")["tokens"] == ["[CLS]", "[SEP]"]
    assert clf("")["label"] in clf.labels


def test_logits_are_numpy_and_match_the_scores(clf: senti.Classifier) -> None:
    texts = review_texts(40)
    logits = clf.logits(texts)
    assert isinstance(logits, np.ndarray) and logits.dtype == np.float32 and logits.shape == (40, 2)
    predictions = clf(texts, return_logits=True)
    with open(f"{clf.path}/config.json", encoding="utf-8") as f:
        temperature = float(json.load(f).get("senti_temperature", 1.0))
    for row, p in zip(logits, predictions):
        np.testing.assert_array_equal(p["logits"], row)
        z = row / temperature  # scores are calibrated: softmax(logits / senti_temperature)
        softmax = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.testing.assert_allclose([p["scores"]["negative"], p["scores"]["positive"]], softmax, rtol=1e-5, atol=1e-6)
        assert p["label"] == clf.labels[int(np.argmax(row))]
    assert clf.logits("很好").shape == (1, 2)


def test_any_batch_size_gives_the_same_results(clf: senti.Classifier) -> None:
    texts = review_texts(60)
    whole = clf.logits(texts, batch_size=len(texts))
    # A text's result does not depend on its batch companions, up to float rounding: oneDNN's GEMM
    # may block a batch of another size differently.
    for batch_size in (1, 7, 32):
        np.testing.assert_allclose(clf.logits(texts, batch_size=batch_size), whole, atol=1e-5)
    np.testing.assert_allclose(clf.logits(texts[5:6]), whole[5:6], atol=1e-5)
    np.testing.assert_array_equal(clf.logits(texts, batch_size=32), clf.logits(texts, batch_size=32))  # deterministic


def test_long_texts_are_truncated_to_max_length(clf: senti.Classifier) -> None:
    long_text = "这件衣服的质量真的太棒了" * 100
    encoding = clf.tokenize(long_text)
    assert encoding["truncated"] and len(encoding["input_ids"]) == clf.max_length == 512
    assert not clf.tokenize(long_text, truncation=False)["truncated"]
    assert len(clf.tokenize(long_text, truncation=False)["input_ids"]) == 1202
    short = senti.Classifier.load(max_length=16, threads=1)
    assert short.max_length == 16
    np.testing.assert_array_equal(short.logits(long_text), clf.logits("这件衣服的质量真的太棒了这件"))


def test_sentence_pairs(tiny: senti.Classifier) -> None:
    pair = tiny.tokenize("今天天气很好", "我们去公园")
    assert pair["token_type_ids"] == [0] * 8 + [1] * 6
    by_tuple = tiny.logits([("今天天气很好", "我们去公园")])
    by_dict = tiny.logits({"text": "今天天气很好", "text_pair": "我们去公园"})
    np.testing.assert_array_equal(by_tuple, by_dict)
    from types import MappingProxyType

    np.testing.assert_array_equal(tiny.logits([MappingProxyType({"text": "今天天气很好", "text_pair": "我们去公园"})]), by_tuple)
    assert not np.array_equal(by_tuple, tiny.logits("今天天气很好"))


def test_properties(clf: senti.Classifier) -> None:
    assert clf.labels == ["negative", "positive"]
    assert clf.display_labels == ["负面", "正面"]
    assert clf.max_length == 512
    assert clf.precision in ("fp32", "bf16", "int8")
    assert clf.backend.startswith("cpu-" + clf.precision)
    assert clf.threads == 1
    assert clf.config["num_hidden_layers"] == 3 and clf.config["hidden_size"] == 256
    assert clf.path.endswith("senti-zh-sentiment")
    assert "senti-zh-sentiment" in repr(clf)


def test_fp32_logits_match_transformers_goldens() -> None:
    """tests/data/goldens: logits of transformers' BertForSequenceClassification for the default model."""
    golden = json.loads((TEST_DATA / "goldens" / "senti_zh_sentiment_logits.json").read_text())
    records = [r for r in golden["records"] if "text" in r["source"]]
    assert len(records) >= 10
    fp32 = {n: senti.Classifier.load(precision="fp32", max_length=n, threads=1) for n in {r["max_length"] for r in records}}
    for r in records:
        model = fp32[r["max_length"]]
        assert model.tokenize(r["source"]["text"])["input_ids"] == r["input_ids"], r["id"]
        np.testing.assert_allclose(model.logits(r["source"]["text"])[0], r["logits"], atol=2e-4, err_msg=r["id"])


def test_precisions_agree_on_labels(clf: senti.Classifier) -> None:
    texts = review_texts(100)
    fp32 = senti.Classifier.load(precision="fp32", threads=1)
    reference = [p["label"] for p in fp32(texts)]
    agree = np.mean([p["label"] == r for p, r in zip(clf(texts), reference)])
    assert agree >= 0.97, f"{clf.precision} agrees with fp32 on {agree:.1%} of labels"


def test_default_model_follows_senti_model_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTI_MODEL", str(TEST_DATA / "models" / "tiny"))
    assert senti.default_model_path().endswith("tiny")
    assert senti.Classifier.load().config["hidden_size"] == 32
    monkeypatch.delenv("SENTI_MODEL")
    assert senti.default_model_path().endswith("senti-zh-sentiment")


def test_compiled_model_file_loads(tmp_path, senti_cli) -> None:
    import subprocess

    out = tmp_path / "model.senti"
    subprocess.run([senti_cli, "compile", str(TEST_DATA / "models" / "tiny"), "-o", str(out), "--precision", "fp32"],
                   check=True, capture_output=True)
    compiled = senti.Classifier.load(out, threads=1)
    folder = senti.Classifier.load(TEST_DATA / "models" / "tiny", precision="fp32", threads=1)
    texts = review_texts(50)
    np.testing.assert_allclose(compiled.logits(texts), folder.logits(texts), atol=1e-5)
