"""Shared fixtures. Everything the tests read is in the repository (tests/data, models/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import senti

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "tests" / "data"
TINY_MODEL = TEST_DATA / "models" / "tiny"  # its vocab.txt is bert-base-chinese's (the tokenizer goldens' vocab)


@pytest.fixture(scope="session")
def clf() -> senti.Classifier:
    """The default model, one thread (so results are comparable with other single-thread runs)."""
    return senti.Classifier.load(threads=1)


@pytest.fixture(scope="session")
def tiny() -> senti.Classifier:
    return senti.Classifier.load(TINY_MODEL, threads=1)


@pytest.fixture(scope="session")
def senti_cli() -> Path:
    """The senti command built from the same tree: $SENTI_CLI (CI sets it, and then it must exist),
    else build/senti; tests that need it are skipped only when neither is set up."""
    env = os.environ.get("SENTI_CLI")
    path = Path(env) if env else REPO / "build" / "senti"
    if not path.is_file():
        if env:
            pytest.fail(f"SENTI_CLI={env} does not exist")
        pytest.skip("no build/senti (build the CLI or set SENTI_CLI)")
    return path
