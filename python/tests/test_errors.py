"""Errors reach Python as exceptions carrying the C++ message; nothing crashes."""

from __future__ import annotations

import pytest

import senti
from conftest import TEST_DATA


def test_exception_types() -> None:
    assert issubclass(senti.InvalidInputError, ValueError)
    assert issubclass(senti.ModelError, RuntimeError)
    assert senti.ModelError.__module__ == "senti"


def test_missing_model_folder(tmp_path) -> None:
    with pytest.raises(senti.ModelError, match="does not exist"):
        senti.Classifier.load(tmp_path / "nothing-here")


def test_broken_model_names_the_file(tmp_path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    for name in ("config.json", "vocab.txt", "tokenizer_config.json"):
        (folder / name).write_bytes((TEST_DATA / "models" / "tiny" / name).read_bytes())
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\":1}")
    with pytest.raises(senti.ModelError, match="model.safetensors"):
        senti.Classifier.load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(senti.ModelError, match="config.json"):
        senti.Classifier.load(folder)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="unknown precision 'fp64'"):
        senti.Classifier.load(precision="fp64")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="threads must be >= 0"):
        senti.Classifier.load(threads=-1)
    with pytest.raises(TypeError):
        senti.Classifier.load(threads=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_length"):
        senti.Classifier.load(max_length=1)


def test_invalid_utf8_names_the_text(clf: senti.Classifier) -> None:
    with pytest.raises(senti.InvalidInputError, match=r"text 2: invalid UTF-8 at byte offset 3"):
        clf(["好", "很好".encode(), b"abc\xff"])
    assert clf(["很好".encode()])[0] == clf("很好")  # valid UTF-8 bytes are fine


def test_lone_surrogate(clf: senti.Classifier) -> None:
    with pytest.raises(ValueError, match="text 1 is not valid Unicode"):
        clf(["好", "\ud800"])


def test_wrong_types(clf: senti.Classifier) -> None:
    with pytest.raises(TypeError, match="text 1 must be str or bytes, not int"):
        clf(["好", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        clf(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a pair must have 2 elements"):
        clf([("a", "b", "c")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="needs a 'text' key"):
        clf([{"review": "好"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        clf(["好"], batch_size=0)


def test_the_model_still_works_after_errors(clf: senti.Classifier) -> None:
    before = clf("物流太慢了")
    for bad in ([b"\xc3"], ["\udc80"], [object()]):
        with pytest.raises((ValueError, TypeError)):
            clf(bad)  # type: ignore[arg-type]
    assert clf("物流太慢了") == before
