"""senti.ray on a local Ray cluster with 2 CPUs and 2 actors: every answer equals single-process senti.
The actors reserve half a CPU each, so that Ray Data can still schedule the read and write tasks."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import senti  # noqa: E402
import senti.ray  # noqa: E402
from review_texts import review_texts  # noqa: E402

COUNT = 5000


@pytest.fixture(scope="module")
def cluster():
    # Ray gives its raylet a fixed 30 s to register; on a loaded CI machine that can pass: try again.
    for attempt in range(3):
        try:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
            break
        except Exception:
            ray.shutdown()
            if attempt == 2:
                raise
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return review_texts(COUNT, seed=21)


@pytest.fixture(scope="module")
def expected(texts: list[str]) -> list[dict]:
    """Single-process senti, with the actors' settings (default model, 1 thread)."""
    return senti.Classifier.load(threads=1)(texts)


def check_rows(rows: list[dict], texts: list[str], expected: list[dict]) -> None:
    """Same labels; same probabilities up to float rounding (Ray's batches differ from the single
    process's, and oneDNN's GEMM may round a batch of another size differently)."""
    assert len(rows) == len(texts)
    rows = sorted(rows, key=lambda r: int(r["id"]))
    assert [int(r["id"]) for r in rows] == list(range(len(texts)))
    for row, text, e in zip(rows, texts, expected):
        assert row["text"] == text
        assert row["label"] == e["label"], text
        assert float(row["score"]) == pytest.approx(e["score"], abs=1e-5), text
        for name, p in e["scores"].items():
            assert float(row[f"score_{name}"]) == pytest.approx(p, abs=1e-5), text


def read_jsonl_folder(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.json*"))
    assert files, f"no output in {folder}"
    return [json.loads(line) for f in files for line in f.read_text(encoding="utf-8").split("\n") if line]


def test_classify_5000_texts_with_2_actors(cluster, tmp_path: Path, texts: list[str], expected: list[dict]) -> None:
    source = tmp_path / "reviews.jsonl"
    source.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(texts)),
                      encoding="utf-8")
    ds = senti.ray.read_texts(source)
    out = senti.ray.classify_dataset(ds, text_column="text", concurrency=2, threads_per_actor=1,
                                          num_cpus_per_actor=0.5, batch_size=200)
    senti.ray.write_results(out, tmp_path / "labelled")
    check_rows(read_jsonl_folder(tmp_path / "labelled"), texts, expected)
    # both actors did work: Ray's stats name the actor pool
    assert "SentiPredictor" in out.stats()


def test_csv_in_parquet_out(cluster, tmp_path: Path, texts: list[str], expected: list[dict]) -> None:
    n = 600
    source = tmp_path / "reviews.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "review"])
        writer.writerows((i, t) for i, t in enumerate(texts[:n]))
    senti.ray.classify_files(source, tmp_path / "out.parquet", text_column="review", concurrency=2,
                               num_cpus_per_actor=0.5)
    table = pq.read_table(tmp_path / "out.parquet")
    rows = [dict(r, text=r["review"]) for r in table.to_pylist()]
    check_rows(rows, texts[:n], expected[:n])


def test_parquet_in_csv_out_with_cli(cluster, tmp_path: Path, texts: list[str], expected: list[dict]) -> None:
    n = 400
    pq.write_table(pa.table({"id": list(range(n)), "text": texts[:n]}), tmp_path / "reviews.parquet")
    assert senti.ray.main([str(tmp_path / "reviews.parquet"), str(tmp_path / "out"), "--output-format", "csv",
                           "--concurrency", "2", "--num-cpus-per-actor", "0.5", "--address", "auto"]) == 0
    rows = []
    for f in sorted((tmp_path / "out").glob("*.csv")):
        with f.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    assert all(r["error"] == "" for r in rows)
    check_rows(rows, texts[:n], expected[:n])


def test_bad_rows_are_recorded_or_raised(cluster) -> None:
    ds = ray.data.from_items([{"id": 0, "text": "很好"}, {"id": 1, "text": None}, {"id": 2, "text": "太差了"}])
    rows = sorted(senti.ray.classify_dataset(ds, concurrency=1, on_error="record", num_cpus_per_actor=0.5).take_all(), key=lambda r: r["id"])
    assert [r["label"] for r in rows] == ["positive", "", "negative"]
    assert "must be str or bytes" in rows[1]["error"] and rows[0]["error"] == rows[2]["error"] == ""
    assert np.isnan(rows[1]["score"])
    with pytest.raises(Exception, match="must be str or bytes"):
        senti.ray.classify_dataset(ds, concurrency=1, num_cpus_per_actor=0.5).take_all()


def test_missing_text_column_is_named(cluster) -> None:
    ds = ray.data.from_items([{"review": "很好"}])
    with pytest.raises(Exception, match="no column 'text'"):
        senti.ray.classify_dataset(ds, concurrency=1, num_cpus_per_actor=0.5).take_all()


def test_format_is_taken_from_the_name() -> None:
    with pytest.raises(ValueError, match="cannot tell the format"):
        senti.ray.read_texts("reviews.txt")
