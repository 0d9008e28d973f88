"""Prompt features for predictive routers: an embedding fitted on train prompts, plus metadata.

Only the prompt text, its task and its dataset are read: never labels, outcomes or
any other column a benchmark file may carry (RouterBench files ship the oracle's pick).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from routerbench.data.benchmark import Benchmark
from routerbench.errors import ConfigError
from routerbench.routers.params import Constraints, HasMethods, Interval, OneOf, Options, Params
from routerbench.routers.ranking import PromptColumns

#: What parts read prompts from: a Benchmark, its prompts table alone, or the bare
#: columns a server builds (`PromptColumns`, no pandas on the per-request path).
Prompts = Benchmark | pd.DataFrame | PromptColumns


def prompts_of(source: Prompts) -> pd.DataFrame | PromptColumns:
    """The prompts table (``sample_id``, ``task``, ``dataset``, ``prompt``) of a source."""
    return source.prompts if isinstance(source, Benchmark) else source


def prompt_strings(source: Prompts) -> list[str]:
    """Each prompt's text as a str, from a table or from `PromptColumns` (the same values)."""
    if isinstance(source, PromptColumns):
        return list(source.prompt)
    return prompts_of(source)["prompt"].astype(str).tolist()


def prompt_datasets(source: Prompts) -> np.ndarray:
    """Each prompt's dataset label (``""`` when unknown)."""
    if isinstance(source, PromptColumns):
        return source.dataset
    return prompts_of(source)["dataset"].to_numpy()


def prompt_char_lengths(source: Prompts) -> np.ndarray:
    """``float [n]``: each prompt's length in characters (code points)."""
    if isinstance(source, PromptColumns):
        return np.fromiter(map(len, source.prompt), dtype=float, count=len(source.prompt))
    return prompts_of(source)["prompt"].astype(str).str.len().to_numpy(dtype=float)


def resolve_embedder(embedder: Any, dim: int | None = None) -> Any:
    """A fresh, unfitted embedder from a spec string or a copy of an Embedder-like object.

    A user's object is deep-copied so fitting a router never fits (mutates)
    the object passed to its constructor: constructor parameters stay parameters.
    `dim` sets the width of a spec'd back end (``tfidf-svd``, ``hashing``).
    """
    if isinstance(embedder, str):
        from routerbench.embed import get_embedder

        return get_embedder(embedder) if dim is None else get_embedder(embedder, dim=dim)
    if dim is not None:
        raise ConfigError("features: dim applies to an embedder spec string, not an object")
    if hasattr(embedder, "fit") and hasattr(embedder, "transform"):
        return copy.deepcopy(embedder)
    raise ConfigError(
        "embedder must be a spec string (e.g. 'tfidf-svd') or an object with fit(texts) and "
        f"transform(texts), got {type(embedder).__name__}"
    )


def prompt_texts(source: Prompts, text: str) -> list[str]:
    """The texts to embed: whole prompts, or the final question of few-shot prompts."""
    from routerbench.embed.text import prepare_texts

    return prepare_texts(prompt_strings(source), text)


class PromptFeatures(Params):
    """Fitted map from a Benchmark's prompts (or a prompts table) to a dense feature matrix.

    Columns: the embedding (unit rows), then, if `metadata`, one-hot datasets
    seen in train (scaled by `meta_scale`; an unseen dataset is all zeros) and
    the standardised log prompt length. Metadata lets one router serve many
    datasets whose base rates differ, which an embedding alone blurs.

    Parameters
    ----------
    embedder
        Spec string or Embedder-like object (fit on train texts only).
    text
        ``"full"`` or ``"final-turn"``.
    cache
        Passed to `routerbench.embed.embed_texts` (False: no disk cache).
    metadata
        Append dataset one-hots and log length.
    meta_scale
        Scale of the one-hot columns relative to unit-norm embeddings.
    dim
        Width of the embedding of a spec'd embedder (None: the back end's default).
    """

    parameter_constraints: ClassVar[Constraints] = {
        "embedder": [
            OneOf((str,), "an embedder spec string"),
            HasMethods(("fit", "transform"), "an embedder"),
        ],
        "text": [Options(("full", "final-turn"))],
        "metadata": [Options((True, False))],
        "meta_scale": [Interval("real", 0.0)],
        "dim": [Interval("int", 1), Options((None,))],
    }

    def __init__(
        self,
        embedder: Any = "tfidf-svd",
        *,
        text: str = "full",
        cache: Any = False,
        metadata: bool = False,
        meta_scale: float = 1.0,
        dim: int | None = None,
    ) -> None:
        self.embedder = embedder
        self.text = text
        self.cache = cache
        self.metadata = metadata
        self.meta_scale = meta_scale
        self.dim = dim

    def _embed(self, source: Prompts) -> np.ndarray:
        texts = prompt_texts(source, self.text)
        from routerbench.embed import Embedder, embed_texts

        if isinstance(self.embedder_, Embedder):
            return np.asarray(embed_texts(texts, self.embedder_, cache=self.cache), np.float32)
        return np.asarray(self.embedder_.transform(texts), dtype=np.float32)

    def fit(self, train: Benchmark) -> PromptFeatures:
        """Fit the embedder on train texts and learn the metadata vocabulary."""
        from routerbench.routers.params import validate_params

        validate_params(self)
        self.embedder_ = resolve_embedder(self.embedder, self.dim)
        self.embedder_.fit(prompt_texts(train, self.text))
        self.datasets_ = tuple(train.datasets)
        loglen = self._log_length(train)
        self.len_mean_ = float(loglen.mean()) if loglen.size else 0.0
        self.len_std_ = float(loglen.std()) if loglen.size and loglen.std() > 0 else 1.0
        return self

    @staticmethod
    def _log_length(source: Prompts) -> np.ndarray:
        return np.log1p(prompt_char_lengths(source))

    def transform(self, source: Prompts) -> np.ndarray:
        """Features ``[n_prompts, d]`` float32 of a Benchmark's prompts or a prompts table."""
        x = self._embed(source)
        if not self.metadata:
            return x
        labels = prompt_datasets(source)
        onehot = np.column_stack([labels == d for d in self.datasets_]).astype(np.float32)
        onehot = onehot.reshape(x.shape[0], len(self.datasets_))
        length = ((self._log_length(source) - self.len_mean_) / self.len_std_)[:, None]
        scale = float(self.meta_scale)
        return np.hstack([x, scale * onehot, length.astype(np.float32)])
