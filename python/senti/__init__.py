"""senti: fast BERT text classification (Chinese sentiment first) in C++, from Python.

    import senti
    clf = senti.Classifier.load()            # the bundled senti-zh-sentiment model
    clf(["这件衣服的质量真的太棒了", "物流太慢了"])
    # [{'label': 'positive', 'score': 0.98, 'scores': {...}}, {'label': 'negative', ...}]

Bulk jobs on a Ray cluster: :mod:`senti.ray` (needs ``pip install senti[ray]``).
"""

from senti._core import InvalidInputError, ModelError
from senti.classifier import (
    Classifier,
    Encoding,
    Granularity,
    LongText,
    Precision,
    Prediction,
    SentenceResult,
    TextInput,
    WordWeight,
    default_model_path,
)

__all__ = [
    "Classifier",
    "Encoding",
    "Granularity",
    "InvalidInputError",
    "LongText",
    "ModelError",
    "Precision",
    "Prediction",
    "SentenceResult",
    "TextInput",
    "WordWeight",
    "default_model_path",
]
__version__ = "0.1.0"

# Shown as senti.ModelError / senti.InvalidInputError in tracebacks.
ModelError.__module__ = InvalidInputError.__module__ = "senti"
