"""Word explanations, per-sentence results and chunked long texts from Python (senti/analysis.h's rules),
checked against the model run by hand on what each rule says, and against `senti predict`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import senti

TOLERANCE = 1e-4  # the engine's batch-composition tolerance (fp32): a text alone vs in a packed batch

#: Emoji outside the BMP, Latin words and CJK, three sentences.
MIXED = "物流太慢了😡，三天才到！但是质量很好，做工精细。The fit is great 👍"
#: Only CJK characters and CJK punctuation: every character is one token.
LONG = "物流太慢了，等了半个多月才到。包装也破了，客服不理人。" * 20 + "不过质量很好，做工精细，穿着舒服，很满意。" * 12


def test_without_the_new_arguments_the_result_is_unchanged(clf: senti.Classifier) -> None:
    plain = clf(MIXED)
    assert set(plain) == {"label", "score", "scores"}
    assert set(clf(MIXED, granularity="text", long_text="truncate", explain=False)) == {"label", "score", "scores"}
    analysed = clf(MIXED, granularity="sentence")
    assert set(analysed) == {"label", "score", "scores", "sentences"}
    assert analysed["label"] == plain["label"]
    assert analysed["scores"] == pytest.approx(plain["scores"], abs=TOLERANCE)
    assert set(clf(MIXED, long_text="chunk")) == {"label", "score", "scores", "chunks"}
    assert set(clf.explain(MIXED)) == {"label", "score", "scores", "explanation"}
    assert set(clf(MIXED, explain=True, return_logits=True)) == {"label", "score", "scores", "explanation", "logits"}


@pytest.mark.parametrize("text", [MIXED, "Ｈｅｌｌｏ🙂世界！café naïve résumé。👨‍👩‍👧 好评\n\n第二行：非常满意 😊😊"])
def test_spans_slice_the_text_in_code_points(clf: senti.Classifier, text: str) -> None:
    result = clf.explain(text, granularity="sentence")
    assert result["explanation"], text
    for word in result["explanation"]:
        assert set(word) == {"text", "start", "end", "weight"}
        assert text[word["start"]:word["end"]] == word["text"], word
    starts = [w["start"] for w in result["explanation"]]
    assert starts == sorted(starts)
    for sentence in result["sentences"]:
        assert set(sentence) == {"text", "start", "end", "label", "score"}
        assert text[sentence["start"]:sentence["end"]] == sentence["text"], sentence
        assert sentence["text"] == sentence["text"].strip()


def test_words_are_tokens_with_their_continuations(clf: senti.Classifier) -> None:
    words = [w["text"] for w in clf.explain(MIXED)["explanation"]]
    assert words[:7] == ["物", "流", "太", "慢", "了", "😡", "，"]
    assert words[-5:] == ["The", "fit", "is", "great", "👍"]


def test_sentence_results_equal_classifying_each_sentence(clf: senti.Classifier) -> None:
    texts = [MIXED, "物流太慢了，三天才到！但是质量很好，做工精细。\n客服态度也差。😡 总体还行吧", "很好"]
    results = clf(texts, granularity="sentence")
    assert [s["text"] for s in results[0]["sentences"]] == ["物流太慢了😡，三天才到！", "但是质量很好，做工精细。",
                                                            "The fit is great 👍"]
    assert len(results[1]["sentences"]) == 4
    assert [s["text"] for s in results[2]["sentences"]] == ["很好"]
    for result in results:
        alone = clf([s["text"] for s in result["sentences"]])
        for sentence, expected in zip(result["sentences"], alone):
            assert sentence["label"] == expected["label"], sentence
            assert sentence["score"] == pytest.approx(expected["score"], abs=TOLERANCE)


def test_a_long_text_is_the_mean_of_its_windows(clf: senti.Classifier) -> None:
    ids = clf.tokenize(LONG, truncation=False)["input_ids"]
    assert len(ids) == len(LONG) + 2  # one token per character: windows in tokens are windows in characters
    content = clf.max_length - 2
    stride = content * 3 // 4
    windows, start = [], 0
    while True:  # a window every 3/4 window, the last one ending at the text's end
        first = min(start, len(LONG) - content)
        windows.append(LONG[first:first + content])
        if first + content >= len(LONG):
            break
        start += stride
    assert len(windows) > 1

    chunked = clf(LONG, long_text="chunk", return_logits=True)
    assert chunked["chunks"] == len(windows)
    expected = clf(windows, return_logits=True)
    mean_scores = {label: np.mean([w["scores"][label] for w in expected]) for label in clf.labels}
    assert chunked["scores"] == pytest.approx(mean_scores, abs=TOLERANCE)
    np.testing.assert_allclose(chunked["logits"], np.mean([w["logits"] for w in expected], axis=0), atol=TOLERANCE)
    assert chunked["label"] == max(mean_scores, key=mean_scores.__getitem__)
    assert chunked["score"] == pytest.approx(max(mean_scores.values()), abs=TOLERANCE)
    # truncate (the default) sees the first window only; a text that fits is one chunk either way
    assert clf(LONG)["scores"] == pytest.approx(expected[0]["scores"], abs=TOLERANCE)
    assert clf("很好", long_text="chunk")["chunks"] == 1
    # a sentence longer than the window is chunked too: here the whole text is one sentence
    one_sentence = clf(LONG.replace("。", "，"), granularity="sentence", long_text="chunk")
    [sentence] = one_sentence["sentences"]
    assert sentence["score"] == pytest.approx(one_sentence["score"], abs=TOLERANCE)


def test_short_text_weights_are_leave_one_word_out_drops(clf: senti.Classifier) -> None:
    text = "质量很好，但是物流太慢了"  # 12 tokens: one explanation window, the whole text
    result = clf.explain(text)
    label = result["label"]
    words = result["explanation"]
    assert [w["text"] for w in words] == list(text)
    without = clf([text[:w["start"]] + text[w["end"]:] for w in words])
    for word, rest in zip(words, without):
        assert word["weight"] == pytest.approx(result["score"] - rest["scores"][label], abs=TOLERANCE), word


def test_explain_takes_the_analysis_arguments(clf: senti.Classifier) -> None:
    [one] = clf.explain([LONG], long_text="chunk", granularity="sentence")
    assert len(one["explanation"]) == len(LONG)  # every character, the text chunked
    assert one["chunks"] > 1 and len(one["sentences"]) > 10
    truncated = clf.explain(LONG)
    assert len(truncated["explanation"]) == clf.max_length - 2  # only the words the model saw
    assert clf.explain(b"\xe5\xa5\xbd")["explanation"][0]["text"] == "好"  # UTF-8 bytes are texts too


def test_bad_arguments_are_clear_errors(clf: senti.Classifier) -> None:
    with pytest.raises(ValueError, match='unknown granularity "paragraph": use text or sentence'):
        clf("好", granularity="paragraph")  # type: ignore[arg-type]
    with pytest.raises(senti.InvalidInputError, match='unknown long_text "wrap": use truncate or chunk'):
        clf.explain("好", long_text="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="text 1: the text is empty"):
        clf.explain(["好", "   "])
    with pytest.raises(ValueError, match="text 0: explain, granularity and long_text take single texts"):
        clf([("好", "差")], explain=True)
    with pytest.raises(ValueError, match="text 0 is not valid Unicode"):
        clf("\ud800", granularity="sentence")
    with pytest.raises(ValueError, match="text 0: invalid UTF-8 at byte offset 0"):
        clf.explain(b"\xff")
    with pytest.raises(TypeError, match="explain must be a bool"):
        clf("好", explain="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        clf.explain("好", batch_size=0)


def test_batches_do_not_change_the_analysis(clf: senti.Classifier) -> None:
    texts = [MIXED, "质量很好。物流太慢了", LONG[:300]]
    whole = clf(texts, explain=True, granularity="sentence", long_text="chunk")
    one_by_one = [clf(t, explain=True, granularity="sentence", long_text="chunk") for t in texts]
    for a, b in zip(whole, one_by_one):
        assert [w["text"] for w in a["explanation"]] == [w["text"] for w in b["explanation"]]
        assert [w["weight"] for w in a["explanation"]] == pytest.approx([w["weight"] for w in b["explanation"]],
                                                                         abs=TOLERANCE)
        assert [s["label"] for s in a["sentences"]] == [s["label"] for s in b["sentences"]]
        assert [s["score"] for s in a["sentences"]] == pytest.approx([s["score"] for s in b["sentences"]], abs=TOLERANCE)
        assert a["chunks"] == b["chunks"]


def test_matches_senti_predict(senti_cli: Path, clf: senti.Classifier) -> None:
    """The CLI and the package run the same C++ analysis: the same batch gives the same floats."""
    texts = [MIXED, "质量很好。物流太慢了", LONG, "好"]
    flags = ["--explain", "--granularity", "sentence", "--long-text", "chunk"]
    done = subprocess.run([str(senti_cli), "predict", "--threads", "1", "--batch-size", str(len(texts)), *flags],
                          input="\n".join(t.replace("\n", " ") for t in texts) + "\n", capture_output=True, text=True,
                          check=True, timeout=300)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == len(texts), done.stderr
    results = clf(texts, batch_size=len(texts), explain=True, granularity="sentence", long_text="chunk")
    f32 = np.float32
    for line, result in zip(lines, results):
        assert line["label"] == result["label"] and line["chunks"] == result["chunks"]
        assert f32(line["score"]) == f32(result["score"])
        assert [(w["text"], w["start"], w["end"], f32(w["weight"])) for w in line["explanation"]] == [
            (w["text"], w["start"], w["end"], f32(w["weight"])) for w in result["explanation"]]
        assert [(s["text"], s["start"], s["end"], s["label"], f32(s["score"])) for s in line["sentences"]] == [
            (s["text"], s["start"], s["end"], s["label"], f32(s["score"])) for s in result["sentences"]]
