"""senti.Classifier: Chinese sentiment (any BERT sequence classifier) from Python, in the style of a
transformers text-classification pipeline. The model runs in senti's C++ runtime (senti._core)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypedDict, Union, cast, overload

import numpy as np
import numpy.typing as npt

from senti import _core
from senti._core import ModelError

DEFAULT_MODEL_NAME = "senti-zh-sentiment"

#: The compute precision: "auto" picks the fastest the CPU runs well.
Precision = Literal["auto", "fp32", "bf16", "int8"]

#: One input: a text (str, or UTF-8 bytes), a (text, text_pair) pair, or {"text": ..., "text_pair": ...}.
TextInput = Union[str, bytes, tuple[Union[str, bytes], Union[str, bytes]], Mapping[str, Union[str, bytes]]]


#: ``"text"``: classify each text as a whole; ``"sentence"``: also each of its sentences on its own.
Granularity = Literal["text", "sentence"]

#: A text longer than the model's window: ``"truncate"`` keeps its first tokens; ``"chunk"`` classifies it
#: in overlapping windows and averages their scores.
LongText = Literal["truncate", "chunk"]


class WordWeight(TypedDict):
    """One word of an explanation. ``text[start:end] == word["text"]`` (code-point offsets);
    ``weight`` is the drop of the predicted label's score when the word is left out: positive, the
    word supports the label; negative, it argues against it."""

    text: str
    start: int
    end: int
    weight: float


class SentenceResult(TypedDict):
    """One sentence of a text, classified on its own: ``text[start:end] == sentence["text"]``."""

    text: str
    start: int
    end: int
    label: str
    score: float


class Prediction(TypedDict, total=False):
    """One text's result: ``label``, ``score`` and ``scores`` always; ``logits`` only with
    ``return_logits=True``; ``explanation`` with ``explain=True``, ``sentences`` with
    ``granularity="sentence"`` and ``chunks`` (the windows the text was classified in) with
    ``long_text="chunk"``: the HTTP API's names."""

    label: str
    score: float
    scores: dict[str, float]
    logits: npt.NDArray[np.float32]
    explanation: list[WordWeight]
    sentences: list[SentenceResult]
    chunks: int


class Encoding(TypedDict):
    """What the model sees for one text: word pieces and their ids, ``[CLS]``/``[SEP]`` included."""

    tokens: list[str]
    input_ids: list[int]
    token_type_ids: list[int]
    truncated: bool


def default_model_path() -> str:
    """The model used when none is given: ``$SENTI_MODEL`` if set, else the senti-zh-sentiment model
    shipped inside the package (``senti/models/senti-zh-sentiment``), else the source tree's
    ``models/`` folder (an editable install)."""
    env = os.environ.get("SENTI_MODEL")
    if env:
        return env
    here = Path(__file__).parent
    candidates = [here / "models" / DEFAULT_MODEL_NAME, here.parent.parent / "models" / DEFAULT_MODEL_NAME]
    for candidate in candidates:
        if (candidate / "config.json").is_file():
            return str(candidate)
    looked = ", ".join(str(c) for c in candidates)
    raise ModelError(f"no model path given and the default model was not found (looked in {looked}); "
                     "set SENTI_MODEL or pass path=")


class Classifier:
    """A text classifier: senti's exact BertTokenizer and BERT runtime behind one callable object.

    >>> clf = senti.Classifier.load()
    >>> clf(["很好", "太差了"])
    [{'label': 'positive', 'score': 0.97, 'scores': {...}}, {'label': 'negative', ...}]

    Calls release the GIL while the model runs; one object may be shared by several threads (their
    calls take turns on the model; use ``threads=`` for parallelism inside one call).
    """

    def __init__(self, model: _core.Model, path: str) -> None:
        self._model = model
        self._path = path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        precision: Precision = "auto",
        threads: int = 0,
        max_length: int | None = None,
    ) -> Classifier:
        """Loads a Hugging Face ``BertForSequenceClassification`` folder (config.json, vocab.txt,
        model.safetensors or pytorch_model.bin) or a compiled ``.senti`` file (``senti compile``).

        Args:
            path: the model; ``None`` for the default model (see :func:`default_model_path`).
            precision: ``"auto"`` picks the fastest the CPU runs well (int8 with VNNI/AMX, else bf16
                with AVX512-BF16, else fp32); ``"bf16"`` fails on CPUs without bf16 instructions.
            threads: CPU threads per call; 0 uses all cores.
            max_length: longest input in tokens (longer texts are truncated); ``None``: the model's.

        Raises:
            senti.ModelError (a RuntimeError): the model is missing, malformed or unsupported.
            senti.InvalidInputError (a ValueError): a bad option (unknown precision, threads < 0...).
        """
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise TypeError(f"threads must be an int, not {type(threads).__name__}")
        if max_length is not None and max_length < 2:
            raise _core.InvalidInputError("max_length must be at least 2 ([CLS] and [SEP])")
        model_path = default_model_path() if path is None else os.fspath(path)
        model = _core.Model(model_path, precision, threads, max_length or 0)
        return cls(model, model_path)

    @overload
    def __call__(  # type: ignore[overload-overlap]  # a str is also an Iterable; this overload wins
        self,
        texts: str | bytes,
        *,
        batch_size: int = ...,
        return_logits: bool = ...,
        granularity: Granularity = ...,
        long_text: LongText = ...,
        explain: bool = ...,
    ) -> Prediction: ...

    @overload
    def __call__(
        self,
        texts: Iterable[TextInput],
        *,
        batch_size: int = ...,
        return_logits: bool = ...,
        granularity: Granularity = ...,
        long_text: LongText = ...,
        explain: bool = ...,
    ) -> list[Prediction]: ...

    def __call__(
        self,
        texts: str | bytes | Iterable[TextInput],
        *,
        batch_size: int = 256,
        return_logits: bool = False,
        granularity: Granularity = "text",
        long_text: LongText = "truncate",
        explain: bool = False,
    ) -> Prediction | list[Prediction]:
        """Classifies one text (→ one dict) or any number of texts (→ a list of dicts, in order).

        Each dict holds ``label`` (the most likely label), ``score`` (its softmax probability) and
        ``scores`` (every label's probability); with ``return_logits=True`` also ``logits`` (a float32
        numpy row). Texts are processed ``batch_size`` at a time, so memory stays bounded; each text's
        result does not depend on the others (no padding is ever added).

        Args:
            granularity: ``"sentence"`` adds ``sentences``: each sentence (split after 。！？!?；; and
                at line breaks) classified on its own, exactly as ``clf(sentence["text"])``.
            long_text: ``"chunk"`` classifies a text longer than the model's window in windows
                overlapping by a quarter, its scores (and logits) the mean of theirs, and adds
                ``chunks`` (1 for a text that fits). ``"truncate"``, the default, keeps its first
                ``max_length - 2`` tokens.
            explain: adds ``explanation`` (see :meth:`explain`).

        With the defaults the dicts are exactly as they always were. The analysis arguments take
        single texts (not pairs) with at least one token.

        Raises:
            senti.InvalidInputError (a ValueError): a text is not valid UTF-8 (bytes) or Unicode, or
                (analysis) is empty or a pair: the message names its index; an unknown granularity
                or long_text names the choices.
            TypeError: an input is not a str, bytes, pair or dict.
        """
        if not isinstance(explain, bool):
            raise TypeError(f"explain must be a bool, not {type(explain).__name__}")
        batch, single = _as_batch(texts)
        if explain or granularity != "text" or long_text != "truncate":
            results, logits = self._model.analyze(batch, explain, granularity, long_text, batch_size)
        else:
            results, logits = self._model.classify(batch, batch_size)
        if return_logits:
            for result, row in zip(results, logits):
                result["logits"] = row
        predictions = cast("list[Prediction]", results)
        return predictions[0] if single else predictions

    @overload
    def explain(  # type: ignore[overload-overlap]  # a str is also an Iterable; this overload wins
        self, texts: str | bytes, *, granularity: Granularity = ..., long_text: LongText = ..., batch_size: int = ...
    ) -> Prediction: ...

    @overload
    def explain(
        self,
        texts: Iterable[str | bytes],
        *,
        granularity: Granularity = ...,
        long_text: LongText = ...,
        batch_size: int = ...,
    ) -> list[Prediction]: ...

    def explain(
        self,
        texts: str | bytes | Iterable[str | bytes],
        *,
        granularity: Granularity = "text",
        long_text: LongText = "truncate",
        batch_size: int = 256,
    ) -> Prediction | list[Prediction]:
        """Why each text got its label: ``clf(texts, explain=True)``, the prediction plus
        ``explanation``, one :class:`WordWeight` per word in text order.

        Words are the model's tokens, a word piece with its ``##`` continuations being one word, so
        each Chinese character is a word and so is each punctuation mark. A word's ``weight`` is the
        drop of the predicted label's score when the word is deleted, in the clauses around it (up to
        24 tokens); for a text that short it is exactly the leave-one-word-out drop on the whole text.
        Words past the model's window (truncated) are left out unless ``long_text="chunk"``.

        >>> clf.explain("质量很好")["explanation"][3]
        {'text': '好', 'start': 3, 'end': 4, 'weight': 0.11630493402481079}
        """
        return self(texts, granularity=granularity, long_text=long_text, explain=True, batch_size=batch_size)

    def logits(self, texts: str | bytes | Iterable[TextInput], *, batch_size: int = 256) -> npt.NDArray[np.float32]:
        """Raw classifier outputs as a float32 array of shape ``[len(texts), len(labels)]``
        (``[1, len(labels)]`` for one text)."""
        return self._model.classify(_as_batch(texts)[0], batch_size)[1]

    def tokenize(
        self,
        text: str | bytes,
        text_pair: str | bytes | None = None,
        *,
        truncation: bool = True,
        max_length: int | None = None,
    ) -> Encoding:
        """The model's encoding of a text exactly as Hugging Face's BertTokenizer makes it:
        ``{"tokens", "input_ids", "token_type_ids", "truncated"}``, ``[CLS]``/``[SEP]`` included.

        With ``truncation`` (the default) the encoding is cut to ``max_length`` (``None``: the
        classifier's :attr:`max_length`) with the "longest_first" strategy, as the model sees it.
        """
        if not truncation:
            limit = None
        elif max_length is None:
            limit = 0  # the model's maximum
        elif max_length < 1:
            raise _core.InvalidInputError("max_length must be >= 1")
        else:
            limit = max_length
        return cast(Encoding, self._model.tokenize(text, text_pair, limit))

    @property
    def labels(self) -> list[str]:
        """Label names by id (config.json ``id2label``), e.g. ``["negative", "positive"]``."""
        return self._model.labels

    @property
    def display_labels(self) -> list[str]:
        """Label names for people by id (config.json ``senti_label_display``, e.g. 负面/正面)."""
        return self._model.display_labels

    @property
    def max_length(self) -> int:
        """Longest input in tokens, ``[CLS]``/``[SEP]`` included; longer texts are truncated."""
        return self._model.max_length

    @property
    def precision(self) -> str:
        """The precision the encoder actually runs in: ``fp32``, ``bf16`` or ``int8``."""
        return self._model.precision

    @property
    def backend(self) -> str:
        """The compute backend, its matmul implementation and kernel ISA."""
        return self._model.backend

    @property
    def threads(self) -> int:
        """Threads asked for at load (0: all cores)."""
        return self._model.threads

    @property
    def path(self) -> str:
        """Where the model was loaded from."""
        return self._path

    @property
    def config(self) -> dict[str, Any]:
        """The model's shape: vocab_size, hidden_size, num_hidden_layers, num_attention_heads... ."""
        return self._model.config

    def __repr__(self) -> str:
        return (
            f"senti.Classifier(path={self._path!r}, labels={self.labels}, precision={self.precision!r}, "
            f"threads={self.threads}, max_length={self.max_length})"
        )


def _as_batch(texts: str | bytes | Iterable[TextInput]) -> tuple[list[TextInput], bool]:
    """The inputs as a list, and whether the caller passed one input (not a list of them)."""
    if isinstance(texts, (str, bytes, Mapping)):
        return [texts], True
    return list(texts), False
