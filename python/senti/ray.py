"""Bulk classification on Ray Data: one senti model per actor, any number of actors and nodes.

    import ray, senti.ray
    ray.init()                                       # or ray.init(address="auto") on a cluster
    ds = senti.ray.read_texts("reviews.jsonl")       # .jsonl/.json, .csv or .parquet (files or folders)
    out = senti.ray.classify_dataset(ds, text_column="text", concurrency=2)
    senti.ray.write_results(out, "labelled/", format="parquet")

or from a shell: ``python -m senti.ray reviews.jsonl labelled/ --concurrency 2``.

Each output row keeps its input columns and gains ``label``, ``score`` and ``score_<label>`` for
every label (e.g. ``score_negative``, ``score_positive``); with ``on_error="record"`` also ``error``
("" when the text was classified). Needs ``pip install senti[ray]``.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Optional, Union

import numpy as np
import ray
import ray.data

from senti.classifier import Classifier, Precision

__all__ = ["SentiPredictor", "classify_dataset", "classify_files", "read_texts", "write_results"]

Format = Literal["json", "csv", "parquet"]
PathOrPaths = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]]

_FORMATS: dict[str, Format] = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


class SentiPredictor:
    """A callable class for ``Dataset.map_batches``: each Ray actor loads the model once in
    ``__init__`` and classifies the batches it is given (numpy batch format).

    Use it directly when you build the pipeline yourself::

        ds.map_batches(SentiPredictor, fn_constructor_kwargs={"text_column": "review"},
                       batch_size=256, concurrency=4, num_cpus=1, batch_format="numpy")
    """

    def __init__(
        self,
        model_path: Optional[str] = None,
        *,
        text_column: str = "text",
        precision: Precision = "auto",
        threads: int = 1,
        max_length: Optional[int] = None,
        on_error: Literal["raise", "record"] = "raise",
    ) -> None:
        if on_error not in ("raise", "record"):
            raise ValueError(f"on_error must be 'raise' or 'record', not {on_error!r}")
        self.classifier = Classifier.load(model_path, precision=precision, threads=threads, max_length=max_length)
        self.text_column = text_column
        self.on_error = on_error

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.text_column not in batch:
            raise KeyError(f"no column {self.text_column!r} (columns: {sorted(batch)}); pass text_column=")
        texts = batch[self.text_column].tolist()
        labels = self.classifier.labels
        errors = [""] * len(texts)
        try:
            predictions: list[Any] = self.classifier(texts)
        except (ValueError, TypeError):
            if self.on_error == "raise":
                raise
            predictions = []
            for i, text in enumerate(texts):  # find the bad rows; classify the rest
                try:
                    predictions.append(self.classifier([text])[0])
                except (ValueError, TypeError) as e:
                    predictions.append(None)
                    message = str(e)
                    errors[i] = message[len("text 0: "):] if message.startswith("text 0: ") else message
        out = dict(batch)
        out["label"] = np.array([p["label"] if p else "" for p in predictions], dtype=object)
        out["score"] = np.array([p["score"] if p else math.nan for p in predictions], dtype=np.float32)
        for name in labels:
            out[f"score_{name}"] = np.array([p["scores"][name] if p else math.nan for p in predictions], dtype=np.float32)
        if self.on_error == "record":
            out["error"] = np.array(errors, dtype=object)
        return out


def classify_dataset(
    ds: ray.data.Dataset,
    text_column: str = "text",
    *,
    model_path: Optional[str] = None,
    precision: Precision = "auto",
    concurrency: Optional[int] = None,
    threads_per_actor: int = 1,
    num_cpus_per_actor: Optional[float] = None,
    batch_size: int = 256,
    max_length: Optional[int] = None,
    on_error: Literal["raise", "record"] = "raise",
) -> ray.data.Dataset:
    """Adds senti's predictions to every row of ``ds`` (lazily, like any Ray Data transform).

    Args:
        ds: the rows; ``text_column`` holds the texts.
        model_path: a model folder or ``.senti`` file that every node can read (``None``: the model
            bundled in the package, present wherever senti is installed).
        concurrency: number of actors, each with its own model; ``None``: the cluster's CPUs less one
            (for the read and write tasks) divided by ``num_cpus_per_actor``.
        threads_per_actor: CPU threads each actor's model uses.
        num_cpus_per_actor: CPUs Ray reserves for each actor (default: ``threads_per_actor``). Leave
            some of the cluster's CPUs to the read and write tasks: when the actors reserve them all,
            Ray Data cannot schedule the reads and the job stalls.
        batch_size: rows per ``map_batches`` batch.
        on_error: ``"raise"`` fails the job on a text senti rejects (naming it); ``"record"`` gives
            that row an empty label, NaN scores and the message in an ``error`` column.
    """
    cpus_per_actor = float(threads_per_actor) if num_cpus_per_actor is None else num_cpus_per_actor
    if concurrency is None:
        spare = ray.cluster_resources().get("CPU", 1) - 1  # type: ignore[no-untyped-call]
        concurrency = max(1, int(spare // cpus_per_actor)) if cpus_per_actor > 0 else 1
    return ds.map_batches(
        SentiPredictor,
        fn_constructor_kwargs={
            "model_path": model_path,
            "text_column": text_column,
            "precision": precision,
            "threads": threads_per_actor,
            "max_length": max_length,
            "on_error": on_error,
        },
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=concurrency,
        num_cpus=cpus_per_actor,
    )


def _format_of(paths: PathOrPaths, given: Optional[str]) -> Format:
    if given is not None:
        if given not in ("json", "jsonl", "csv", "parquet"):
            raise ValueError(f"unknown format {given!r} (expected json, csv or parquet)")
        return "json" if given == "jsonl" else given  # type: ignore[return-value]
    first = paths if isinstance(paths, (str, os.PathLike)) else next(iter(paths))
    suffix = Path(first).suffix.lower()
    if suffix not in _FORMATS:
        raise ValueError(f"cannot tell the format of {os.fspath(first)!r} from its name; pass format=")
    return _FORMATS[suffix]


def read_texts(paths: PathOrPaths, *, format: Optional[str] = None, **read_args: Any) -> ray.data.Dataset:
    """Reads JSONL (``.jsonl``/``.json``), CSV (with a header row) or Parquet files (or folders of
    them; pass ``format=`` when the name does not tell) into a Ray Dataset. ``read_args`` go to
    ``ray.data.read_json`` / ``read_csv`` / ``read_parquet``."""
    fmt = _format_of(paths, format)
    plain = os.fspath(paths) if isinstance(paths, (str, os.PathLike)) else [os.fspath(p) for p in paths]
    if fmt == "json":
        read_args.setdefault("lines", True)
        return ray.data.read_json(plain, **read_args)
    if fmt == "csv":
        return ray.data.read_csv(plain, **read_args)
    return ray.data.read_parquet(plain, **read_args)


def write_results(ds: ray.data.Dataset, path: Union[str, "os.PathLike[str]"], *, format: Optional[str] = None) -> None:
    """Writes ``ds`` to the folder ``path`` as JSONL, CSV or Parquet files (one or more; Ray names
    them). The format comes from ``format=``, else from the folder's suffix (``out.parquet/``),
    else JSONL."""
    target = os.fspath(path)
    fmt = _format_of(target, format) if format or Path(target).suffix.lower() in _FORMATS else "json"
    if fmt == "json":
        ds.write_json(target)
    elif fmt == "csv":
        ds.write_csv(target)
    else:
        ds.write_parquet(target)


def classify_files(
    input: PathOrPaths,
    output: Union[str, "os.PathLike[str]"],
    *,
    text_column: str = "text",
    input_format: Optional[str] = None,
    output_format: Optional[str] = None,
    **classify_args: Any,
) -> None:
    """read_texts → classify_dataset → write_results in one call."""
    ds = read_texts(input, format=input_format)
    write_results(classify_dataset(ds, text_column, **classify_args), output, format=output_format)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m senti.ray", description=__doc__.split("\n")[0])
    parser.add_argument("input", nargs="+", help="JSONL, CSV or Parquet files or folders")
    parser.add_argument("output", help="output folder")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--model", default=None, help="model folder or .senti file (default: the bundled model)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8"])
    parser.add_argument("--concurrency", type=int, default=None, help="actors (default: CPUs / threads)")
    parser.add_argument("--threads-per-actor", type=int, default=1)
    parser.add_argument("--num-cpus-per-actor", type=float, default=None, help="CPUs Ray reserves per actor (default: threads)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--input-format", default=None, choices=["json", "jsonl", "csv", "parquet"])
    parser.add_argument("--output-format", default=None, choices=["json", "jsonl", "csv", "parquet"])
    parser.add_argument("--on-error", default="record", choices=["raise", "record"])
    parser.add_argument("--address", default=None, help='Ray cluster to join ("auto": the local one); default: start one')
    args = parser.parse_args(argv)
    if not ray.is_initialized():
        ray.init(address=args.address)
    classify_files(
        args.input,
        args.output,
        text_column=args.text_column,
        input_format=args.input_format,
        output_format=args.output_format,
        model_path=args.model,
        precision=args.precision,
        concurrency=args.concurrency,
        threads_per_actor=args.threads_per_actor,
        num_cpus_per_actor=args.num_cpus_per_actor,
        batch_size=args.batch_size,
        on_error=args.on_error,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
